/**
 * A checkpointable function reached by a call the build did not see as a call site would run at its
 * caller's depth and overwrite its caller's frame (a resumed thread would then continue in the wrong
 * code). Calls the checker cannot resolve are sites by name (analysis.test.ts, corpus/calls-unresolved.ts);
 * what is left — a function-typed value under another name — must fail the thread when the function is
 * entered, naming it and the line of the call. Outside a thread the same built code runs as before.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { currentThread, detachThread } from 'ppp2p/runtime';
import { buildSources } from './support/build.ts';
import { runInProcess } from './support/migrate.ts';

type Main = { main: () => Promise<number> };

const lib = `import { checkpoint } from 'ppp2p';
export async function step(n: number): Promise<number> {
  await checkpoint();
  return n + 1;
}
export const table: { advance: (n: number) => Promise<number> } = { advance: step };
`;

afterEach(() => detachThread());

describe('a checkpointable function entered by a call that is not a site', () => {
  test('fails the thread with a CheckpointError naming the function and the source line of the call', async () => {
    const b = buildSources('unrecognized-call', {
      'lib.ts': lib,
      'main.ts': `import { checkpoint } from 'ppp2p';
import { table } from './lib.ts';
export async function main(): Promise<number> {
  let total = 1;
  await checkpoint();
  total = await table.advance(total);
  return total;
}
`,
    });
    expect(b.report()).toBe('');
    const { main } = await b.load<Main>('main.ts');
    const error = await runInProcess(main, [], { migrateEvery: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('CheckpointError');
    const message = (error as Error).message;
    expect(message).toMatch(/^step\(\) \(lib\.ts\) can checkpoint, but it was called at \S*main\.ts:6 by a call that `ppp2p build` did not recognize/);
    expect(message).toContain('Fix: at that call, `await` it by its own name with a declared type');
    // Without migrating (no snapshot would ever be taken) the thread fails all the same: the check is at entry.
    await expect(runInProcess(main)).rejects.toThrow(/step\(\) \(lib\.ts\) can checkpoint, but it was called at/);
  });

  test('outside a virtual thread the built code runs unchanged (nothing is ever snapshotted there)', async () => {
    const b = buildSources('unrecognized-call-detached', {
      'lib.ts': lib,
      'detached.ts': `import { table } from './lib.ts';
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  await checkpoint();
  return await table.advance(await table.advance(1));
}
`,
    });
    expect(b.report()).toBe('');
    const { main } = await b.load<Main>('detached.ts');
    expect(currentThread().attached).toBe(false);
    expect(await main()).toBe(3);
  });

  test('a by-name site whose callee turns out not to be transformed leaves no announcement behind for a later call', async () => {
    const b = buildSources('unrecognized-call-after-plain', {
      'lib.ts': lib,
      'after-plain.ts': `import { table } from './lib.ts';
class Plain {
  async step(n: number): Promise<number> { return n * 10; }
}
export async function main(): Promise<number> {
  const p: any = new Plain();
  let total = await p.step(1);
  total = await table.advance(total);
  return total;
}
`,
    });
    expect(b.report()).toBe('');
    // `p.step(1)` is a site by name (lib.ts has a checkpointable `step`), so main is transformed.
    expect(b.text('after-plain.ts')).toContain('await $t.called(p.step(1))');
    const { main } = await b.load<Main>('after-plain.ts');
    await expect(runInProcess(main)).rejects.toThrow(/^step\(\) \(lib\.ts\) can checkpoint, but it was called at \S*after-plain\.ts:8 /);
  });
});
