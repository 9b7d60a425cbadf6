/**
 * Programs whose state a snapshot cannot carry: they run natively, and built they run as long as no
 * snapshot is taken, but the first snapshot that holds the value fails the thread with a
 * CheckpointError naming the variable, its function and the source line — never a resumed thread
 * that breaks (or computes something else) later. The programs are in ./unserializable/, built
 * the way the differential corpus is (test/differential.test.ts).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runThreadLocally } from '../../src/daemon/host/frame-runner.ts';
import { emittedModuleFor, formatForTest, loadBuildProject, repoRoot } from '../support/preprocessor.ts';
import { NEVER, runMigratingInProcess } from '../support/in-process-migration.ts';
import { describeError, outcomeOf } from '../support/pool.ts';

const srcDir = resolve(import.meta.dirname, 'unserializable');
const outDir = resolve(repoRoot, 'test/.out/unserializable');
const built = new Map<string, string>();

beforeAll(async () => {
  const buildProject = await loadBuildProject();
  rmSync(outDir, { recursive: true, force: true });
  const result = buildProject({ rootDir: srcDir, outDir });
  expect(result.diagnostics.map(formatForTest)).toEqual([]);
  for (const name of ['class-private-fields', 'class-extends-builtin']) {
    const module = emittedModuleFor(result, srcDir, outDir, join(srcDir, `${name}.ts`));
    if (module === undefined) throw new Error(`no module emitted for ${name}.ts`);
    built.set(name, module);
  }
}, 120_000);

type Main = { main: () => Promise<unknown> };

async function nativeAndUnsnapshotted(name: string): Promise<void> {
  const native = await outcomeOf(async () => ((await import(join(srcDir, `${name}.ts`))) as Main).main());
  expect(native.ok).toBe(true);
  const mod = (await import(built.get(name)!)) as Main;
  const r = await runMigratingInProcess(mod.main, NEVER);
  expect(await outcomeOf(async () => (r.ok ? r.result : Promise.reject(r.error)))).toStrictEqual(native);
}

/** The error of the built program migrated at every checkpoint, in this process; it must fail at the first one. */
async function failureAtFirstCheckpoint(name: string): Promise<string> {
  const mod = (await import(built.get(name)!)) as Main;
  const r = await runMigratingInProcess(mod.main, { everyN: 1 });
  expect(r.ok, `${name} must fail at its first checkpoint`).toBe(false);
  expect(r.migrations).toBe(0);
  return describeError((r as { error: unknown }).error);
}

describe('a value a snapshot cannot carry fails the thread at the checkpoint, naming the variable and the line', () => {
  test('an instance of a class with #private fields (the codec restores without the constructor, so #private state would be lost)', async () => {
    await nativeAndUnsnapshotted('class-private-fields');
    expect(await failureAtFirstCheckpoint('class-private-fields')).toBe(
      "CheckpointError: Cannot checkpoint at class-private-fields.ts:30: variable 'budget' of main() at class-private-fields.ts:30 holds " +
        "an instance of class 'Budget', which has #private fields that a snapshot cannot carry (use a TypeScript `private` field instead), " +
        'which cannot be serialized. Fix: do not keep it live across checkpoint(): recreate it after the checkpoint, or store plain data instead.',
    );
  });

  test('the same failure reaches the caller of a thread that migrates to a fresh worker (ppp2p run --migrate-every 1)', async () => {
    const outcome = await outcomeOf(() => runThreadLocally(built.get('class-private-fields')!, 'main', { migrateEvery: 1 }));
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: string }).error;
    expect(error).toMatch(/^CheckpointError: Cannot checkpoint at class-private-fields\.ts:30: variable 'budget' of main\(\)/);
    expect(error).toContain("an instance of class 'Budget', which has #private fields that a snapshot cannot carry");
  });

  test('an instance of a subclass of Map (or Array): its entries live in internal slots the codec cannot restore', async () => {
    await nativeAndUnsnapshotted('class-extends-builtin');
    expect(await failureAtFirstCheckpoint('class-extends-builtin')).toBe(
      "CheckpointError: Cannot checkpoint at class-extends-builtin.ts:29: variable 'h' of main() at class-extends-builtin.ts:29 holds " +
        "an instance of class 'Histogram', a subclass of Map (instances of subclasses of built-ins with internal state cannot be serialized; " +
        'hold a plain Map instead), which cannot be serialized. Fix: do not keep it live across checkpoint(): recreate it after the checkpoint, ' +
        'or store plain data instead.',
    );
  });
});
