/**
 * Test-side access to the preprocessor: loads `buildProject` lazily (so that a missing or broken
 * preprocessor fails the tests that need it with a clear message instead of failing the whole
 * file at import time), and maps a source module to the module it was emitted as.
 */
import { existsSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** One build diagnostic, as `buildProject` reports it (see src/build/index.ts). */
export interface BuildDiagnostic {
  file: string;
  line: number;
  column: number;
  code: string | number;
  message: string;
  hint: string;
}

export interface BuildResult {
  diagnostics: BuildDiagnostic[];
  emitted: string[];
}

export type BuildProject = (opts: { rootDir: string; outDir: string }) => BuildResult;

/** `buildProject` from src/build/index.ts, or an error that says why it is not usable yet. */
export async function loadBuildProject(): Promise<BuildProject> {
  const entry = resolve(repoRoot, 'src/build/index.ts');
  if (!existsSync(entry)) throw new Error(`The preprocessor is missing: ${entry} does not exist yet.`);
  const mod = (await import(entry)) as { buildProject?: unknown };
  if (typeof mod.buildProject !== 'function') {
    throw new Error(`src/build/index.ts does not export a buildProject function (exports: ${Object.keys(mod).join(', ') || 'none'}).`);
  }
  return mod.buildProject as BuildProject;
}

/** `PPP2P1001` whether the preprocessor reports codes as strings or numbers. */
export function codeOf(d: BuildDiagnostic): string {
  const c = String(d.code);
  return /^\d+$/.test(c) ? `PPP2P${c}` : c;
}

export function formatForTest(d: BuildDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${codeOf(d)}: ${d.message} (hint: ${d.hint})`;
}

/**
 * The emitted JavaScript module for `sourceFile` (absolute, under `rootDir`), looked up in the
 * `emitted` list of a build into `outDir`: same relative path, extension `.js` or `.mjs`.
 */
export function emittedModuleFor(result: BuildResult, rootDir: string, outDir: string, sourceFile: string): string | undefined {
  const stem = relative(rootDir, sourceFile).replace(/\.ts$/, '');
  for (const e of result.emitted) {
    const abs = resolve(outDir, e);
    const rel = relative(outDir, abs);
    const m = /^(.*)\.(m?js)$/.exec(rel);
    if (m !== null && m[1]!.split(sep).join('/') === stem.split(sep).join('/')) return abs;
  }
  return undefined;
}
