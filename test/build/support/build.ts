/**
 * Builds small programs given as strings: each test gets its own directory under
 * test/.out/preprocessor/<name>/ (inside the repo, so that 'ppp2p' resolves for the output).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildProject, formatDiagnostic, type BuildResult } from '../../../src/build/index.ts';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const outRoot = join(repoRoot, 'test/.out/preprocessor');

export interface BuiltProgram extends BuildResult {
  srcDir: string;
  outDir: string;
  /** Imports the emitted module for `file` (e.g. 'main.ts'). */
  load<T = Record<string, unknown>>(file: string): Promise<T>;
  /** Imports the source module (untransformed). */
  loadSource<T = Record<string, unknown>>(file: string): Promise<T>;
  /** The emitted JavaScript of `file`. */
  text(file: string): string;
  /** Diagnostics as `file:line:col CODE: message` lines, for assertions and failure messages. */
  report(): string;
}

export function buildSources(name: string, files: Record<string, string>): BuiltProgram {
  const base = join(outRoot, name);
  rmSync(base, { recursive: true, force: true });
  const srcDir = join(base, 'src');
  const outDir = join(base, 'out');
  for (const [file, text] of Object.entries(files)) {
    const path = join(srcDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  const result = buildProject({ rootDir: srcDir, outDir });
  const jsOf = (file: string): string => join(outDir, file.replace(/\.ts$/, '.js'));
  return {
    ...result,
    srcDir,
    outDir,
    load: async <T>(file: string) => (await import(pathToFileURL(jsOf(file)).href)) as T,
    loadSource: async <T>(file: string) => (await import(pathToFileURL(join(srcDir, file)).href)) as T,
    text: (file: string) => readFileSync(jsOf(file), 'utf8'),
    report: () => result.diagnostics.map((d) => formatDiagnostic(d)).join('\n'),
  };
}

