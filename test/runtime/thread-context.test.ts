import { describe, expect, it } from 'vitest';
import { ThreadContext, currentThread, type ThreadHost } from '../../src/runtime/thread-context.ts';
import { thread, checkpoint } from '../../src/runtime/thread-api.ts';

const quietHost: ThreadHost = { checkpoint: async () => {}, progress: () => {} };

describe('checkpoint policy', () => {
  it('never takes a snapshot outside a virtual thread', () => {
    const t = currentThread();
    expect(t.attached).toBe(false);
    for (let i = 0; i < 100; i++) expect(t.due()).toBe(false);
  });

  it('takes every Nth opportunity when everyN is set', () => {
    const t = new ThreadContext(ThreadContext.initialState(0, 1), quietHost, { everyN: 3 });
    const taken = Array.from({ length: 9 }, () => t.due());
    expect(taken).toEqual([false, false, true, false, false, true, false, false, true]);
  });

  it('takes at most one snapshot per interval by default', () => {
    const t = new ThreadContext(ThreadContext.initialState(0, 1), quietHost, { minIntervalMs: 60_000 });
    let taken = 0;
    for (let i = 0; i < 10_000; i++) if (t.due()) taken++;
    expect(taken).toBe(0);
    const eager = new ThreadContext(ThreadContext.initialState(0, 1), quietHost, { minIntervalMs: 0 });
    expect(eager.due()).toBe(true);
  });

  it('honours a requested snapshot at the next opportunity', () => {
    const t = new ThreadContext(ThreadContext.initialState(0, 1), quietHost, { minIntervalMs: 60_000 });
    expect(t.due()).toBe(false);
    t.requestSnapshot();
    expect(t.due()).toBe(true);
  });
});

describe('thread random generator', () => {
  it('repeats the same stream for the same thread id and seed', () => {
    const a = new ThreadContext(ThreadContext.initialState(3, 8, 42));
    const b = new ThreadContext(ThreadContext.initialState(3, 8, 42));
    const xs = Array.from({ length: 50 }, () => a.random());
    expect(Array.from({ length: 50 }, () => b.random())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('gives different streams to different threads', () => {
    const a = new ThreadContext(ThreadContext.initialState(0, 2, 42));
    const b = new ThreadContext(ThreadContext.initialState(1, 2, 42));
    expect(a.random()).not.toBe(b.random());
  });

  it('continues the stream from a copied state, as a resumed thread does', () => {
    const a = new ThreadContext(ThreadContext.initialState(0, 1, 7));
    for (let i = 0; i < 10; i++) a.random();
    const copy = structuredClone(a.state);
    const b = new ThreadContext(copy);
    expect(b.random()).toBe(a.random());
  });
});

describe('thread API outside a virtual thread', () => {
  it('behaves as a single thread and checkpoint() is a no-op', async () => {
    expect(thread.id).toBe(0);
    expect(thread.count).toBe(1);
    await expect(checkpoint()).resolves.toBeUndefined();
    expect(() => thread.progress({ step: 1 })).not.toThrow();
  });

  it('refuses message passing with a clear error', async () => {
    await expect(thread.send(1, 'x')).rejects.toThrow(/needs a virtual thread spawned on a VirtualComputer/);
  });
});
