/**
 * The differential corpus: every program in test/corpus runs several ways and must give the same
 * result (or fail with the same error) each time —
 *   native:          the untransformed .ts source, imported here (`checkpoint()` is a no-op);
 *   transformed:     the module emitted by `buildProject`, as a thread whose checkpoints never
 *                    take a snapshot (the cheap not-due path at every checkpoint);
 *   migrated:        the emitted module, serialized at EVERY checkpoint and resumed from a fresh
 *                    decode of the bytes alone (in this process, see support/in-process-migration.ts);
 *   worker-migrated: `runThreadLocally(built, 'main', { migrateEvery })`: the thread runs in a
 *                    worker thread and its state crosses to a fresh worker as bytes, mid-run.
 * A fresh worker costs close to a second of CPU (tsx registration and module loading), so by
 * default each program crosses to a fresh worker once, and migrates at every checkpoint in this
 * process. DIFFERENTIAL_FULL=1 runs the literal three-way check instead — transformed and
 * `migrateEvery: 1` both through runThreadLocally, a fresh worker per checkpoint (minutes).
 * A program may export `MIGRATE_EVERY` to migrate less often in workers (a loop of thousands of
 * checkpoints). Native runs count `checkpoint()` calls, so every migrating run must migrate
 * exactly floor(count / every) times: no checkpoint may be skipped or taken twice.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runThreadLocally } from '../src/daemon/host/frame-runner.ts';
import { ThreadContext, currentThread } from '../src/runtime/thread-context.ts';
import { emittedModuleFor, formatForTest, loadBuildProject, repoRoot, type BuildDiagnostic } from './support/preprocessor.ts';
import { limit, outcomeOf, type Outcome } from './support/pool.ts';
import { NEVER, runMigratingInProcess } from './support/in-process-migration.ts';

// Native runs count checkpoint opportunities; the counting stays a no-op otherwise.
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

const corpusDir = resolve(repoRoot, 'test/corpus');
const outDir = resolve(repoRoot, 'test/.out/corpus');
/** Where the corpus minus programs that failed to build is copied when a first build reports errors. */
const filteredDir = resolve(repoRoot, 'test/.out/corpus-src');

const programs = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

interface NativeRun {
  outcome: Outcome;
  checkpoints: number;
  migrateEvery: number;
}

interface ThreadRun {
  outcome: Outcome;
  snapshots: number;
  migrations: number;
}

interface ProgramRuns {
  native: NativeRun;
  transformed?: ThreadRun;
  /** Resumed from its bytes at every checkpoint, in this process. */
  migrated?: ThreadRun;
  /** Resumed from its bytes in fresh workers, every `workerEvery` checkpoints. */
  workerMigrated?: ThreadRun;
  workerEvery?: number;
  /** Why the program could not be run transformed (build errors, missing output). */
  buildProblem?: string;
}

const runs = new Map<string, Promise<ProgramRuns>>();
let buildFailure: Error | undefined;

async function runNative(name: string): Promise<NativeRun> {
  const mod = (await import(join(corpusDir, `${name}.ts`))) as { main: () => Promise<unknown>; MIGRATE_EVERY?: number };
  // thread.random() outside a thread draws from the detached context: give every program the fresh
  // stream a newly spawned thread 0 gets.
  currentThread().state.rng = ThreadContext.initialState(0, 1).rng;
  checkpoints.count = 0;
  const outcome = await outcomeOf(() => mod.main());
  return { outcome, checkpoints: checkpoints.count, migrateEvery: mod.MIGRATE_EVERY ?? 1 };
}

const full = process.env['DIFFERENTIAL_FULL'] === '1';

/** How often the worker-migrated run migrates: once, mid-run; at every checkpoint in full mode. */
function workerEvery(native: NativeRun): number {
  return full ? native.migrateEvery : Math.max(native.migrateEvery, Math.floor(native.checkpoints / 2) + 1);
}

/** Runs in this process, migrating at every checkpoint or never taking a snapshot. */
async function runInProcess(modulePath: string, migrate: boolean): Promise<ThreadRun> {
  const mod = (await import(modulePath)) as { main: () => Promise<unknown> };
  const r = await runMigratingInProcess(mod.main, migrate ? { everyN: 1 } : NEVER);
  const outcome = await outcomeOf(async () => {
    if (!r.ok) throw r.error;
    return r.result;
  });
  return { outcome, snapshots: r.migrations, migrations: r.migrations };
}

async function runThread(modulePath: string, migrateEvery?: number): Promise<ThreadRun> {
  let snapshots = 0;
  // Counted as they happen, so that a thread that fails after migrating still reports them.
  let migrations = 0;
  const outcome = await outcomeOf(async () => {
    const r = await runThreadLocally(modulePath, 'main', {
      ...(migrateEvery === undefined ? {} : { migrateEvery }),
      onMigrate: () => migrations++,
    });
    snapshots = r.snapshots;
    return r.result;
  });
  if (outcome.ok === false && migrateEvery !== undefined) snapshots = migrations;
  return { outcome, snapshots, migrations };
}

/** Builds the corpus; programs whose build reports errors are left out of a second build. */
async function buildCorpus(): Promise<{ modules: Map<string, string>; problems: Map<string, string> }> {
  const buildProject = await loadBuildProject();
  rmSync(outDir, { recursive: true, force: true });
  let rootDir = corpusDir;
  let result = buildProject({ rootDir, outDir });
  const problems = new Map<string, string>();
  if (result.diagnostics.length > 0) {
    const byProgram = new Map<string, BuildDiagnostic[]>();
    for (const d of result.diagnostics) {
      const rel = resolve(corpusDir, d.file).slice(corpusDir.length + 1).replace(/\.ts$/, '');
      const list = byProgram.get(rel) ?? [];
      list.push(d);
      byProgram.set(rel, list);
    }
    const diagnosticsText = (ds: BuildDiagnostic[]): string => ds.map(formatForTest).join('\n');
    for (const [rel, ds] of byProgram) {
      if (rel.startsWith('lib/') || !programs.includes(rel)) {
        throw new Error(`The corpus library does not build:\n${diagnosticsText(ds)}`);
      }
      problems.set(rel, `build diagnostics (expected none):\n${diagnosticsText(ds)}`);
    }
    rmSync(filteredDir, { recursive: true, force: true });
    mkdirSync(filteredDir, { recursive: true });
    cpSync(corpusDir, filteredDir, { recursive: true, filter: (src) => !byProgram.has(src.slice(corpusDir.length + 1).replace(/\.ts$/, '')) });
    rmSync(outDir, { recursive: true, force: true });
    rootDir = filteredDir;
    result = buildProject({ rootDir, outDir });
    if (result.diagnostics.length > 0) {
      throw new Error(`The corpus without its failing programs still does not build:\n${diagnosticsText(result.diagnostics)}`);
    }
  }
  const modules = new Map<string, string>();
  for (const name of programs) {
    if (problems.has(name)) continue;
    const built = emittedModuleFor(result, rootDir, outDir, join(rootDir, `${name}.ts`));
    if (built === undefined) problems.set(name, `buildProject emitted no module for ${name}.ts (emitted: ${result.emitted.join(', ')})`);
    else modules.set(name, built);
  }
  return { modules, problems };
}

beforeAll(async () => {
  // Native first, one at a time: they share the detached thread context of this process.
  const natives = new Map<string, NativeRun>();
  for (const name of programs) natives.set(name, await runNative(name));
  let built: Awaited<ReturnType<typeof buildCorpus>> | undefined;
  try {
    built = await buildCorpus();
  } catch (err) {
    buildFailure = err instanceof Error ? err : new Error(String(err));
  }
  // Worker runs two at a time, while this process runs the in-process ones, one at a time.
  const schedule = limit(2);
  const workerRuns = new Map<string, Promise<{ transformed?: ThreadRun; workerMigrated: ThreadRun }>>();
  for (const name of programs) {
    const module = built?.modules.get(name);
    if (module === undefined) continue;
    const every = workerEvery(natives.get(name)!);
    const transformed = full ? schedule(() => runThread(module)) : undefined;
    const workerMigrated = schedule(() => runThread(module, every));
    workerRuns.set(
      name,
      Promise.all([transformed, workerMigrated]).then(([t, m]) => ({ ...(t === undefined ? {} : { transformed: t }), workerMigrated: m })),
    );
  }
  const inProcess = new Map<string, { transformed: ThreadRun; migrated: ThreadRun }>();
  for (const name of programs) {
    const module = built?.modules.get(name);
    if (module === undefined) continue;
    inProcess.set(name, { transformed: await runInProcess(module, false), migrated: await runInProcess(module, true) });
  }
  for (const name of programs) {
    const native = natives.get(name)!;
    const workers = workerRuns.get(name);
    const local = inProcess.get(name);
    if (built === undefined || workers === undefined || local === undefined) {
      runs.set(name, Promise.resolve({ native, buildProblem: built?.problems.get(name) ?? buildFailure?.message }));
      continue;
    }
    runs.set(
      name,
      workers.then((w) => ({ native, transformed: w.transformed ?? local.transformed, migrated: local.migrated, workerMigrated: w.workerMigrated, workerEvery: workerEvery(native) })),
    );
  }
}, 180_000);

afterAll(async () => {
  // Let stragglers finish so that no worker outlives the file.
  await Promise.allSettled(runs.values());
});

describe('differential corpus: native, transformed and migrated runs agree', () => {
  test('the corpus has at least 40 programs', () => {
    expect(programs.length).toBeGreaterThanOrEqual(40);
  });

  test.each(programs)('%s gives the same result native, transformed, migrated at every checkpoint and in a fresh worker', async (name) => {
    const r = await runs.get(name)!;
    expect(r.native.checkpoints, `${name} never reaches a checkpoint natively`).toBeGreaterThan(0);
    if (r.buildProblem !== undefined || r.transformed === undefined || r.migrated === undefined || r.workerMigrated === undefined) {
      throw new Error(`${name} could not be run transformed: ${r.buildProblem ?? 'unknown build problem'}`);
    }
    // Soft: one run's failure must not hide what the others did.
    const transformedHow = full ? 'transformed (worker, no migration)' : 'transformed (no snapshot taken)';
    expect.soft(r.transformed.outcome, `${name}: ${transformedHow} differs from native`).toStrictEqual(r.native.outcome);
    expect.soft(r.transformed.migrations, `${name}: ${transformedHow} migrated`).toBe(0);
    expect.soft(r.migrated.outcome, `${name}: migrated at every checkpoint differs from native`).toStrictEqual(r.native.outcome);
    expect.soft(r.migrated.migrations, `${name}: ${r.native.checkpoints} checkpoint() calls natively, so as many migrations`).toBe(r.native.checkpoints);
    const every = r.workerEvery!;
    expect.soft(r.workerMigrated.outcome, `${name}: migrated to a fresh worker every ${every} checkpoints differs from native`).toStrictEqual(
      r.native.outcome,
    );
    const expected = Math.floor(r.native.checkpoints / every);
    expect.soft(expected, `${name}: the worker-migrated run must migrate at least once`).toBeGreaterThan(0);
    expect.soft(r.workerMigrated.migrations, `${name}: ${r.native.checkpoints} checkpoints, migrating every ${every}`).toBe(expected);
    // Waits for this program's worker runs, queued behind earlier programs' in full mode.
  }, full ? 600_000 : 120_000);
});
