/**
 * The API that thread code uses: `checkpoint`, `thread` and `globals`.
 *
 * Untransformed (plain `tsx`, unit tests) every call works on a detached context: `checkpoint()` is
 * a no-op, `thread.id` is 0 and `thread.count` 1, and `thread.random()` gives the same stream a
 * single virtual thread would, so a program gives the same result with and without `ppp2p build`.
 */
import { currentThread } from './thread-context.ts';
import { NotInThreadError } from './errors.ts';
import type { ThreadHost } from './thread-context.ts';

/**
 * A checkpoint opportunity. In code built by `ppp2p build` the thread's policy decides whether a
 * snapshot is taken here (default: at most one per second); the call itself is rewritten away.
 * Outside a virtual thread, and in untransformed code, it does nothing.
 */
export async function checkpoint(): Promise<void> {}

function hostFeature<K extends 'send' | 'receive' | 'globals'>(feature: K): NonNullable<ThreadHost[K]> {
  const host = currentThread().host;
  const fn = host?.[feature];
  if (host === undefined || fn === undefined) {
    throw new NotInThreadError(
      `${feature === 'globals' ? 'globals' : `thread.${feature}`}() needs a virtual thread spawned on a VirtualComputer; ` +
        'it is not available in plain code or under `ppp2p run`.',
    );
  }
  return fn.bind(host) as NonNullable<ThreadHost[K]>;
}

/** The running virtual thread. */
export const thread = {
  /** 0..count-1, in spawn order. */
  get id(): number {
    return currentThread().state.id;
  },
  /** How many threads were spawned on this virtual computer. */
  get count(): number {
    return currentThread().state.count;
  },
  /** Seeded per thread and part of the snapshot: use it so that replays after a failure repeat. */
  random(): number {
    return currentThread().random();
  },
  /** Sends a partial result to the owner's `'progress'` listeners. */
  progress(value: unknown): void {
    currentThread().progress(value);
  },
  /** Buffered, FIFO per sender and receiver; waits while the receiver's mailbox is full. */
  async send(to: number, value: unknown): Promise<void> {
    const t = currentThread();
    await hostFeature('send')(to, value, t.state.seq++);
  },
  /** The next message (from one sender if `from` is given); rejects after `timeoutMs`. */
  async receive(opts: { from?: number; timeoutMs?: number } = {}): Promise<{ from: number; value: unknown }> {
    return hostFeature('receive')(opts);
  },
};

/** Global variables of the virtual computer: every operation is linearizable. */
export const globals = {
  async get<T = unknown>(name: string): Promise<T | undefined> {
    const t = currentThread();
    return (await hostFeature('globals')({ op: 'get', name }, t.state.seq++)) as T | undefined;
  },
  async set(name: string, value: unknown): Promise<void> {
    const t = currentThread();
    await hostFeature('globals')({ op: 'set', name, value }, t.state.seq++);
  },
  /** Sets `next` only if the current value equals `expected` (structurally); true if it did. */
  async compareAndSet(name: string, expected: unknown, next: unknown): Promise<boolean> {
    const t = currentThread();
    return (await hostFeature('globals')({ op: 'compareAndSet', name, expected, next }, t.state.seq++)) as boolean;
  },
  /** Atomic read-modify-write: takes a lease-based lock, runs `fn` here, writes the result back. */
  async update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
    const t = currentThread();
    const op = hostFeature('globals');
    const current = (await op({ op: 'lock', name }, t.state.seq++)) as T | undefined;
    let next: T;
    try {
      next = await fn(current);
    } catch (err) {
      await op({ op: 'unlock', name, value: undefined, write: false }, t.state.seq++);
      throw err;
    }
    await op({ op: 'unlock', name, value: next, write: true }, t.state.seq++);
    return next;
  },
};
