/**
 * The reject corpus: each file in test/reject holds one construct that checkpointable code may
 * not use, and says on its first line which diagnostic it must produce:
 *   // expect: PPP2P1001 line 6
 * Each file is built alone. The build must report exactly that code at that line (one or more
 * diagnostics, all of them that code at that line), each with a fix hint, and emit nothing.
 */
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { codeOf, formatForTest, loadBuildProject, repoRoot, type BuildProject } from './support/preprocessor.ts';
import { NODE, cliArgs } from './support/cli.ts';

const rejectDir = resolve(repoRoot, 'test/reject');
const workDir = resolve(repoRoot, 'test/.out/reject');

interface Expectation {
  file: string;
  name: string;
  code: string;
  line: number;
}

const expectations: Expectation[] = readdirSync(rejectDir)
  .filter((f) => f.endsWith('.ts'))
  .sort()
  .map((file) => {
    const first = readFileSync(join(rejectDir, file), 'utf8').split('\n', 1)[0] ?? '';
    const m = /^\/\/ expect: (PPP2P\d{4}) line (\d+)\s*$/.exec(first);
    if (m === null) throw new Error(`test/reject/${file}: the first line must be '// expect: PPP2P#### line N', got '${first}'`);
    return { file, name: file.replace(/\.ts$/, ''), code: m[1]!, line: Number(m[2]) };
  });

/** Copies one reject file alone into its own source directory; returns [rootDir, outDir]. */
function isolate(e: Expectation, tag = 'api'): [string, string] {
  const base = join(workDir, e.name, tag);
  rmSync(base, { recursive: true, force: true });
  const src = join(base, 'src');
  mkdirSync(src, { recursive: true });
  copyFileSync(join(rejectDir, e.file), join(src, e.file));
  return [src, join(base, 'out')];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

// Loaded on first use, so that a missing preprocessor fails the tests that need it, one by one.
let loading: Promise<BuildProject> | undefined;
const preprocessor = (): Promise<BuildProject> => (loading ??= loadBuildProject());

describe('reject corpus: each unsupported construct is a build error with its code, line and hint', () => {
  test('every diagnostic code from PPP2P1001 to PPP2P1012 has at least one reject program', () => {
    const codes = new Set(expectations.map((e) => e.code));
    const missing = Array.from({ length: 12 }, (_, i) => `PPP2P${1001 + i}`).filter((c) => !codes.has(c));
    expect(missing).toEqual([]);
  });

  test.each(expectations)('$file is rejected with $code at line $line and nothing is emitted', async (e) => {
    const buildProject = await preprocessor();
    const [rootDir, outDir] = isolate(e);
    const result = buildProject({ rootDir, outDir });
    const got = result.diagnostics.map((d) => `${codeOf(d)} line ${d.line}`);
    const all = result.diagnostics.map(formatForTest).join('\n');
    expect(got.length, `no diagnostic for ${e.file}`).toBeGreaterThan(0);
    expect([...new Set(got)], `diagnostics were:\n${all}`).toEqual([`${e.code} line ${e.line}`]);
    for (const d of result.diagnostics) {
      expect(basename(d.file), all).toBe(e.file);
      expect(d.column, all).toBeGreaterThanOrEqual(1);
      expect(d.message.trim(), `empty message: ${all}`).not.toBe('');
      expect(d.hint.trim(), `empty hint: ${all}`).not.toBe('');
    }
    expect(result.emitted).toEqual([]);
    expect(filesUnder(outDir)).toEqual([]);
  });
});

describe('ppp2p build on the command line', () => {
  test('prints file:line:col PPP2P####: message with a hint on stderr, exits 1 and writes nothing', async () => {
    const e = expectations.find((x) => x.name === 'callback-foreach');
    expect(e, 'test/reject/callback-foreach.ts is missing').toBeDefined();
    const buildProject = await preprocessor();
    const [rootDir, outDir] = isolate(e!, 'cli');
    const hint = buildProject({ rootDir: isolate(e!, 'cli-api')[0], outDir: join(workDir, e!.name, 'cli-api', 'out') }).diagnostics[0]?.hint;
    const child = spawn(NODE, cliArgs('build', rootDir, '--out', outDir), { cwd: repoRoot });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, `stderr:\n${stderr}\nstdout:\n${stdout}`).toBe(1);
    const line = stderr.split('\n').find((l) => /PPP2P\d{4}:/.test(l));
    expect(line, `stderr:\n${stderr}`).toMatch(new RegExp(`^\\S*callback-foreach\\.ts:${e!.line}:\\d+ ${e!.code}: \\S`));
    expect(hint, 'buildProject gave no hint to look for').toBeTruthy();
    expect(stderr).toContain(hint!);
    expect(filesUnder(outDir)).toEqual([]);
  });
});
