/**
 * Built programs run: natively (the .ts source, checkpoint() a no-op), transformed (the emitted
 * module as a virtual thread) and migrated at every checkpoint (the thread resumes from the
 * decoded snapshot bytes in a new ThreadContext). All three must agree. These programs cover what
 * the shared corpus (test/corpus) does not: private and static methods, optional calls, `var`,
 * defaults that draw random numbers, generators, deletions from a Set during for-of, and more.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ThreadContext, currentThread, decodeSnapshot, detachThread, type Frame, type Snapshot, type ThreadHost } from 'ppp2p/runtime';
import { buildSources, repoRoot } from './support/build.ts';
import { runInProcess } from './support/migrate.ts';
import { childNodeOptions } from '../../src/protocol/package-files.ts';

type Main = { main: () => Promise<unknown> };

const programs: Record<string, string> = {
  'methods.ts': `import { checkpoint } from 'ppp2p';
export class Account {
  balance = 0;
  log: string[] = [];
  async audit(what: string): Promise<void> {
    await checkpoint();
    this.log.push(what);
  }
  async deposit(n: number): Promise<number> {
    await this.audit(\`deposit \${n}\`);
    const apply = (): number => (this.balance += n);
    await checkpoint();
    return apply();
  }
  static async open(): Promise<Account> {
    await checkpoint();
    const a = new this();
    a.log.push(\`opened by \${this.name}\`);
    return a;
  }
  static async describe(a: Account): Promise<string> {
    await checkpoint();
    return \`\${this.name} \${a.balance}\`;
  }
}
export async function main(): Promise<unknown> {
  const a = await Account.open();
  await a.deposit(5);
  await a.deposit(7);
  return { balance: a.balance, log: a.log, text: await Account.describe(a), isAccount: a instanceof Account };
}
`,
  'optional-calls.ts': `import { checkpoint } from 'ppp2p';
async function k(trace: string[], s: string): Promise<string> { trace.push(s); await checkpoint(); return s; }
class Box { items = ['x']; get(i: string): string { return this.items.join(i); } }
export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const present: Box | undefined = new Box();
  const absent = undefined as Box | undefined;
  const fn = undefined as ((s: string) => string) | undefined;
  return [present.get?.(await k(trace, 'a')), absent?.get(await k(trace, 'never')), fn?.(await k(trace, 'never2')), trace];
}
`,
  'vars.ts': `import { checkpoint } from 'ppp2p';
let moduleCounter = 0;
async function one(): Promise<number> { await checkpoint(); return 1; }
export async function main(): Promise<unknown> {
  var total = await one();
  for (var i = 0; i < 3; i++) {
    var last = i;
    total += await one();
  }
  moduleCounter = await one();
  return { total, i, last, moduleCounter };
}
`,
  'defaults.ts': `import { checkpoint, thread } from 'ppp2p';
async function draw(label: string, r = thread.random(), { scale }: { scale: number } = { scale: 10 }): Promise<string> {
  await checkpoint();
  await checkpoint();
  return \`\${label}:\${Math.floor(r * scale)}\`;
}
export async function main(): Promise<unknown> {
  return [await draw('a'), await draw('b', 0.5), await draw('c', undefined, { scale: 1000 }), thread.random()];
}
`,
  'iterables.ts': `import { checkpoint } from 'ppp2p';
function* gen(): Generator<number> { for (let i = 0; i < 3; i++) yield i * i; }
export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (const x of gen()) { await checkpoint(); trace.push(\`x \${x}\`); }
  for (const [i, ch] of [...'ab'].entries()) { await checkpoint(); trace.push(\`\${i}\${ch}\`); }
  const s = new Set([1, 2, 3, 4]);
  for (const v of s) {
    await checkpoint();
    trace.push(\`s \${v}\`);
    if (v === 1) { s.delete(1); s.delete(3); s.add(9); }
  }
  const m = new Map([['a', 1]]);
  for (const [k] of m) { m.delete(k); await checkpoint(); trace.push(\`deleted \${k}\`); if (m.size === 0 && k === 'a') m.set('b', 2); }
  return trace;
}
`,
  'jumps.ts': `import { checkpoint } from 'ppp2p';
async function next(i: number): Promise<number> { await checkpoint(); return i + 1; }
export async function main(): Promise<unknown> {
  const trace: string[] = [];
  outer: for (let i = 0; i < 4; i = await next(i)) {
    for (let j = 0; j < 3; j++) {
      if (j === 1) continue outer;
      if (i === 3) break outer;
      trace.push(\`\${i}.\${j}\`);
    }
  }
  let n = 0;
  do {
    n++;
    if (n === 2) continue;
    trace.push(\`n \${n}\`);
  } while ((await next(n)) < 4);
  return trace;
}
`,
  'exceptions.ts': `import { checkpoint } from 'ppp2p';
async function fail(msg: string): Promise<never> { await checkpoint(); throw new RangeError(msg); }
async function nested(log: string[]): Promise<string> {
  try {
    try {
      await fail('inner');
    } finally {
      await checkpoint();
      log.push('inner finally');
    }
  } catch ({ message }) {
    await checkpoint();
    log.push(\`caught \${String(message)}\`);
    return String(message);
  } finally {
    await checkpoint();
    log.push('outer finally');
  }
}
export async function main(): Promise<unknown> {
  const log: string[] = [];
  const r = await nested(log);
  return { r, log };
}
`,
};

const built = buildSources('run', programs);

async function nativeRun(file: string): Promise<unknown> {
  const mod = await built.loadSource<Main>(file);
  currentThread().state.rng = ThreadContext.initialState(0, 1).rng;
  return mod.main();
}

describe('run: native, transformed and migrated-at-every-checkpoint runs agree', () => {
  test('the programs build', () => {
    expect(built.report()).toBe('');
  });

  test.each(Object.keys(programs))('%s', async (file) => {
    const native = await nativeRun(file);
    const { main } = await built.load<Main>(file);
    const transformed = await runInProcess(main);
    const migrated = await runInProcess(main, [], { migrateEvery: 1 });
    expect(transformed.result).toStrictEqual(native);
    expect(migrated.result).toStrictEqual(native);
    expect(migrated.migrations).toBeGreaterThan(0);
  });
});

describe('run: documented differences', () => {
  test('a generator iterated by a for-of whose body checkpoints runs to its end before the first iteration', async () => {
    const b = buildSources('run-generator', {
      'gen.ts': `import { checkpoint } from 'ppp2p';
function* gen(trace: string[]): Generator<number> { for (let i = 0; i < 2; i++) { trace.push(\`gen \${i}\`); yield i; } }
export async function main(): Promise<string[]> {
  const trace: string[] = [];
  for (const x of gen(trace)) { await checkpoint(); trace.push(\`x \${x}\`); }
  return trace;
}
`,
    });
    const { main } = await b.load<Main>('gen.ts');
    const native = await (await b.loadSource<Main>('gen.ts')).main();
    expect(native).toEqual(['gen 0', 'x 0', 'gen 1', 'x 1']);
    expect((await runInProcess(main, [], { migrateEvery: 1 })).result).toEqual(['gen 0', 'gen 1', 'x 0', 'x 1']);
  });
});

describe('run: private methods', () => {
  // An instance restored from a snapshot would have no private brand (the codec cannot run the
  // constructor), so a snapshot that holds one fails instead (test/runtime/unserializable-at-checkpoint.test.ts);
  // #private members work on instances that are not carried by a snapshot.
  test('an instance private method and a static private method checkpoint (no migration)', async () => {
    const b = buildSources('run-private', {
      'private.ts': `import { checkpoint } from 'ppp2p';
class Secret {
  n = 1;
  async #bump(): Promise<number> { await checkpoint(); return ++this.n; }
  async bump(): Promise<number> { return await this.#bump(); }
  static async #make(): Promise<Secret> { await checkpoint(); return new Secret(); }
  static async make(): Promise<Secret> { return await Secret.#make(); }
}
export async function main(): Promise<number> {
  const s = await Secret.make();
  await s.bump();
  return await s.bump();
}
`,
    });
    expect(b.report()).toBe('');
    const { main } = await b.load<Main>('private.ts');
    expect((await runInProcess(main)).result).toBe(3);
  });
});

describe('run: resuming from live frames (no codec) takes the same emitted paths', () => {
  test('a thread resumed from the frames captured at each checkpoint finishes with the native result', async () => {
    const { main } = await built.load<Main>('exceptions.ts');
    const native = await nativeRun('exceptions.ts');
    let ctx: ThreadContext;
    let captured: Frame[] | undefined;
    const host: ThreadHost = {
      checkpoint(bytes) {
        const depth = (decodeSnapshot(bytes) as Snapshot).frames.length;
        captured = ctx.stack.slice(0, depth);
        return new Promise<void>(() => {});
      },
      progress() {},
    };
    ctx = new ThreadContext(ThreadContext.initialState(0, 1), host, { everyN: 1 });
    let run = ctx.run(main, []);
    let resumes = 0;
    for (;;) {
      const done = await Promise.race([run.then((v) => ({ v })), new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
      if (done !== undefined) {
        expect(done.v).toStrictEqual(native);
        break;
      }
      expect(captured).toBeDefined();
      const frames = captured!;
      captured = undefined;
      resumes++;
      ctx = new ThreadContext(ctx.state, host, { everyN: 1 });
      run = ctx.resume(frames);
    }
    detachThread();
    expect(resumes).toBeGreaterThan(3);
  });
});

describe('run: source maps', () => {
  test('an error thrown by transformed code reports the line of the .ts source', () => {
    const b = buildSources('source-map', {
      'thrower.ts': `import { checkpoint } from 'ppp2p';
export async function boom(n: number): Promise<number> {
  let x = n;
  for (let i = 0; i < 2; i++) {
    await checkpoint();
    x += i;
  }
  if (x > 0) {
    throw new Error('boom');
  }
  return x;
}
`,
    });
    expect(b.report()).toBe('');
    const script = `const m = await import(${JSON.stringify(join(b.outDir, 'thrower.js'))}); try { await m.boom(1); } catch (e) { console.log(e.stack); }`;
    const r = spawnSync(process.execPath, [...childNodeOptions(), '--enable-source-maps', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(r.stdout, r.stderr).toMatch(/thrower\.ts:9:\d+/);
  });
});
