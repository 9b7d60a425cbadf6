/**
 * Property: for any program of nested loops, branches, switch, try/catch/finally, throws,
 * breaks/continues (labeled or not), returns, checkpoints and calls to a checkpointable helper
 * (see support/fuzz-program.ts), the transformed program gives the native trace, both when no
 * checkpoint takes a snapshot and when the thread is serialized at EVERY checkpoint and resumed
 * from the bytes alone; and it migrates exactly once per checkpoint() executed natively.
 *
 * Migrating at every checkpoint happens in this process (support/in-process-migration.ts): a fresh
 * worker costs ~0.6 s of CPU, too much for hundreds of checkpoints. A few programs of each batch
 * (those with at most WORKER_MAX_CHECKPOINTS checkpoints) also run with
 * `runThreadLocally(..., { migrateEvery: 1 })`, which resumes in a fresh worker each time.
 *
 * Building is the slow part, so programs are checked in a batch: the programs fast-check would
 * generate for the seed are written to test/.out/fuzz/batch/src and built once. Then fast-check
 * runs the property for real with the same seed (so it sees the same programs and reads the batch
 * results), and only when a program fails does it build candidates one by one to shrink it.
 * A failure prints the seed and the shrunk program's source.
 *
 *   FUZZ_RUNS=500 npx vitest run test/fuzz-programs.test.ts   # more programs (default 50)
 *   FUZZ_SEED=1234 ...                                        # replay a seed printed by a failure
 *   FUZZ_SHRINK_MS=300000 ...                                 # more time to shrink (default 120 s)
 *   FUZZ_WORKER_PROGRAMS=10 ...                               # more fresh-worker runs (default 2)
 */
import { describe, expect, test, vi } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runThreadLocally } from '../src/daemon/host/frame-runner.ts';
import { emittedModuleFor, formatForTest, loadBuildProject, repoRoot, type BuildDiagnostic } from './support/preprocessor.ts';
import { limit, outcomeOf, type Outcome } from './support/pool.ts';
import { programArb, type GeneratedProgram, type Stmt } from './support/fuzz-program.ts';
import { NEVER, runMigratingInProcess } from './support/in-process-migration.ts';

const checkpoints = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/runtime/thread-api.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/runtime/thread-api.ts')>();
  return {
    ...original,
    checkpoint: async (): Promise<void> => {
      checkpoints.count++;
    },
  };
});

const runs = positiveEnv('FUZZ_RUNS', 50);
const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const shrinkMs = positiveEnv('FUZZ_SHRINK_MS', 120_000);
const workerPrograms = positiveEnv('FUZZ_WORKER_PROGRAMS', 2);
/** Programs run through fresh workers at every checkpoint have at most this many checkpoints. */
const WORKER_MAX_CHECKPOINTS = 6;
const fuzzDir = resolve(repoRoot, 'test/.out/fuzz');

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

interface Checked {
  native: Outcome;
  nativeCheckpoints: number;
  /** Transformed, no snapshot taken. */
  transformed?: Outcome;
  /** Transformed, resumed from its bytes at every checkpoint, in this process. */
  migrated?: Outcome;
  migrations?: number;
  /** Transformed, resumed in a fresh worker at every checkpoint (some programs only). */
  workerMigrated?: Outcome;
  workerMigrations?: number;
  /** The program could not be built or run transformed. */
  problem?: string;
}

async function runNative(file: string): Promise<{ outcome: Outcome; checkpoints: number }> {
  const mod = (await import(file)) as { main: () => Promise<unknown> };
  checkpoints.count = 0;
  const outcome = await outcomeOf(() => mod.main());
  return { outcome, checkpoints: checkpoints.count };
}

async function runInProcess(module: string, migrate: boolean): Promise<{ outcome: Outcome; migrations: number }> {
  const mod = (await import(module)) as { main: () => Promise<unknown> };
  const r = await runMigratingInProcess(mod.main, migrate ? { everyN: 1 } : NEVER);
  const outcome = await outcomeOf(async () => {
    if (!r.ok) throw r.error;
    return r.result;
  });
  return { outcome, migrations: r.migrations };
}

async function runInWorkers(module: string): Promise<{ outcome: Outcome; migrations: number }> {
  let migrations = 0;
  const outcome = await outcomeOf(async () => (await runThreadLocally(module, 'main', { migrateEvery: 1, onMigrate: () => migrations++ })).result);
  return { outcome, migrations };
}

/**
 * Writes programs to `dir/src`, builds them together into `dir/out` (leaving out, in a second
 * build, the ones the preprocessor rejects) and runs each natively, transformed and migrated.
 */
let programsWritten = 0;

async function checkBatch(dir: string, sources: string[], maxWorkerPrograms: number): Promise<Checked[]> {
  const buildProject = await loadBuildProject();
  rmSync(dir, { recursive: true, force: true });
  const srcDir = join(dir, 'src');
  const outDir = join(dir, 'out');
  mkdirSync(srcDir, { recursive: true });
  const files = sources.map((source) => {
    // Frame ids are module path + function name, and frame classes are registered per process:
    // every program this process builds needs a name of its own.
    const file = join(srcDir, `p${++programsWritten}.ts`);
    writeFileSync(file, source);
    return file;
  });
  const natives: { outcome: Outcome; checkpoints: number }[] = [];
  for (const file of files) natives.push(await runNative(file));

  let result = buildProject({ rootDir: srcDir, outDir });
  const problems = new Map<number, string>();
  if (result.diagnostics.length > 0) {
    const byFile = new Map<string, BuildDiagnostic[]>();
    for (const d of result.diagnostics) byFile.set(resolve(srcDir, d.file), [...(byFile.get(resolve(srcDir, d.file)) ?? []), d]);
    files.forEach((file, i) => {
      const ds = byFile.get(file);
      if (ds === undefined) return;
      problems.set(i, `the preprocessor rejects this program:\n${ds.map(formatForTest).join('\n')}`);
      rmSync(file);
    });
    if (problems.size === 0) throw new Error(`build diagnostics outside the programs:\n${result.diagnostics.map(formatForTest).join('\n')}`);
    rmSync(outDir, { recursive: true, force: true });
    result = buildProject({ rootDir: srcDir, outDir });
    if (result.diagnostics.length > 0) throw new Error(`the second build still fails:\n${result.diagnostics.map(formatForTest).join('\n')}`);
  }
  const modules = files.map((file) => emittedModuleFor(result, srcDir, outDir, file));
  const checked: Checked[] = [];
  for (const [i, module] of modules.entries()) {
    const native = natives[i]!;
    const base = { native: native.outcome, nativeCheckpoints: native.checkpoints };
    const problem = problems.get(i) ?? (module === undefined ? `buildProject emitted no module for ${files[i]!}` : undefined);
    if (problem !== undefined || module === undefined) {
      checked.push({ ...base, problem });
      continue;
    }
    const transformed = await runInProcess(module, false);
    const migrated = await runInProcess(module, true);
    checked.push({ ...base, transformed: transformed.outcome, migrated: migrated.outcome, migrations: migrated.migrations });
  }
  // A few programs with few checkpoints also migrate through fresh workers, two at a time.
  const schedule = limit(2);
  const picked = checked
    .map((c, i) => ({ c, module: modules[i] }))
    .filter(({ c, module }) => module !== undefined && c.problem === undefined && c.nativeCheckpoints >= 1 && c.nativeCheckpoints <= WORKER_MAX_CHECKPOINTS)
    .slice(0, maxWorkerPrograms);
  await Promise.all(
    picked.map(({ c, module }) =>
      schedule(async () => {
        const w = await runInWorkers(module!);
        c.workerMigrated = w.outcome;
        c.workerMigrations = w.migrations;
      }),
    ),
  );
  return checked;
}

function assertAgrees(c: Checked, source: string): void {
  const where = `\n--- program ---\n${source}`;
  if (c.problem !== undefined) throw new Error(`${c.problem}${where}`);
  expect(c.transformed, `transformed trace (no snapshot) differs from native${where}`).toStrictEqual(c.native);
  expect(c.migrated, `trace migrated at every checkpoint differs from native${where}`).toStrictEqual(c.native);
  expect(c.migrations, `${c.nativeCheckpoints} checkpoint() calls natively, so as many migrations${where}`).toBe(c.nativeCheckpoints);
  if (c.workerMigrated !== undefined) {
    expect(c.workerMigrated, `trace migrated to a fresh worker at every checkpoint differs from native${where}`).toStrictEqual(c.native);
    expect(c.workerMigrations, `worker migrations${where}`).toBe(c.nativeCheckpoints);
  }
}

function isEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function kindsIn(stmts: Stmt[], into: Set<string>): Set<string> {
  for (const s of stmts) {
    into.add(s.k === 'call' && s.compound ? 'call+=' : s.k);
    for (const child of [
      'then' in s ? s.then : [],
      'else' in s ? s.else : [],
      'body' in s ? s.body : [],
      'handler' in s ? (s.handler ?? []) : [],
      'finalizer' in s ? (s.finalizer ?? []) : [],
      'dflt' in s ? (s.dflt ?? []) : [],
      ...('cases' in s ? s.cases.map((c) => c.body) : []),
    ]) {
      kindsIn(child, into);
    }
  }
  return into;
}

describe('fuzzed programs: migrating at every checkpoint never changes the trace', () => {
  const programs: GeneratedProgram[] = fc.sample(programArb, { numRuns: runs, seed });

  test('the generator covers every construct, and most programs reach checkpoints', async () => {
    const kinds = new Set<string>();
    for (const p of programs) {
      kindsIn(p.tree.body, kinds);
      kindsIn(p.tree.helper, kinds);
    }
    if (runs >= 50) {
      expect([...kinds].sort()).toEqual(
        [
          'assign', 'block', 'break', 'call', 'call+=', 'checkpoint', 'closure', 'continue', 'destructure', 'doWhile', 'expr', 'for',
          'forIn', 'forOf', 'if', 'push', 'return', 'switch', 'throw', 'try', 'while',
        ].sort(),
      );
    }
    let reaching = 0;
    const dir = join(fuzzDir, 'native-only');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [i, p] of programs.entries()) {
      const file = join(dir, `p${i}.ts`);
      writeFileSync(file, p.source);
      const native = await runNative(file);
      expect(native.outcome.ok, `native run failed:\n${p.source}`).toBe(true);
      if (native.checkpoints > 0) reaching++;
    }
    expect(reaching / programs.length).toBeGreaterThan(0.6);
  });

  test(
    `native trace equals transformed and migrated traces for ${runs} random programs (seed ${seed})`,
    async () => {
      const unique = [...new Set(programs.map((p) => p.source))];
      const batch = await checkBatch(join(fuzzDir, 'batch'), unique, workerPrograms);
      expect(batch.filter((c) => c.workerMigrated !== undefined).length, 'no program of the batch ran through fresh workers').toBeGreaterThan(0);
      const results = new Map(unique.map((source, i) => [source, batch[i]!]));
      // Shrinking candidates run through fresh workers too only when that is where a program failed.
      const failsOnlyInWorkers = batch.some(
        (c) => c.problem === undefined && isEqual(c.migrated, c.native) && isEqual(c.transformed, c.native) && !isEqual(c.workerMigrated ?? c.native, c.native),
      );
      let singles = 0;
      await fc.assert(
        fc.asyncProperty(programArb, async (p) => {
          // Programs of the batch are looked up; shrinking candidates are built one by one.
          const checked = results.get(p.source) ?? (await checkBatch(join(fuzzDir, `single-${++singles}`), [p.source], failsOnlyInWorkers ? 1 : 0))[0]!;
          assertAgrees(checked, p.source);
        }),
        { seed, numRuns: runs, interruptAfterTimeLimit: shrinkMs + 60_000, markInterruptAsFailure: false },
      );
    },
    shrinkMs + 240_000,
  );
});
