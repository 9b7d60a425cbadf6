/**
 * Message passing and globals between virtual threads on real daemons: three peer processes on loopback, an
 * application connected to the first as its controller, thread code built with `ppp2p build`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualComputer, ThreadError } from '../../src/client/index.ts';
import { loadThreads, PeerSwarm, sleep, until } from './helpers.ts';
import type * as Threads from './fixtures/threads.ts';

describe('message passing between threads on three peers', () => {
  const swarm = new PeerSwarm();
  let fx: typeof Threads;
  let vc: VirtualComputer;

  beforeAll(async () => {
    [fx] = await Promise.all([loadThreads('messaging'), swarm.start([2, 2, 2])]);
    vc = await VirtualComputer.create({ controller: swarm.controller.url, swarmKey: swarm.key, workers: 3, enrolTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await vc?.close();
    await swarm.stop();
  });

  it('passes a token around a ring of six threads spread over the three peers, in order', async () => {
    const rounds = 20;
    const threads = Array.from({ length: 6 }, () => vc.spawn(fx.ring, rounds, 0, 6));
    const results = await Promise.all(threads.map((t) => t.result));
    expect(new Set(threads.map((t) => t.host)).size).toBe(3);
    // Thread i sees the token after i hops of each round: round r brings it r*6 + i (thread 0: the previous round's end).
    for (let i = 0; i < 6; i++) {
      const expected = Array.from({ length: rounds }, (_, r) => (i === 0 ? (r + 1) * 6 - 1 : r * 6 + i - 1));
      expect(results[i]).toEqual(expected);
    }
  });

  it('delivers an all-to-all exchange completely, in order per sender and receiver', async () => {
    const k = 40;
    const base = vc.spawn(fx.allToAll, k, -1, 0).id + 1; // a probe that returns at once: the group starts after it
    const threads = Array.from({ length: 6 }, () => vc.spawn(fx.allToAll, k, base, 6));
    const results = await Promise.all(threads.map((t) => t.result));
    const rounds = Array.from({ length: k }, (_, r) => r);
    results.forEach((got, i) => {
      const senders = Object.keys(got).map(Number).sort((a, b) => a - b);
      expect(senders).toEqual(threads.filter((_, j) => j !== i).map((t) => t.id));
      for (const s of senders) expect(got[s]).toEqual(rounds);
    });
  });

  it('keeps Maps, typed arrays, Dates, bigints, cycles and registered class instances in messages', async () => {
    const rx = vc.spawn(fx.receiveRich, -1);
    const tx = vc.spawn(fx.sendRich, rx.id);
    await tx.result;
    expect(await rx.result).toEqual({
      isMap: true,
      floats: [1.5, -2],
      isFloat64Array: true,
      date: '1970-01-02T00:00:00.000Z',
      isTour: true,
      tourSize: 3,
      cycle: true,
      big: true,
    });
  });

  it('rejects a receive that times out with a ReceiveTimeoutError naming the thread, the sender and the timeout', async () => {
    const t = vc.spawn(fx.receiveTimeout, 0, 300);
    const r = await t.result;
    expect(r).toMatchObject({ name: 'ReceiveTimeoutError', code: 'ERR_RECEIVE_TIMEOUT', thread: t.id, from: 0, timeoutMs: 300 });
    expect(r.message).toBe(`Thread ${t.id}: receive({ from: 0 }) got no message from thread 0 within 300 ms.`);
    expect(r.waitedMs as number).toBeGreaterThanOrEqual(280);
    expect(r.waitedMs as number).toBeLessThan(2000);
    const any = vc.spawn(fx.receiveOrFail, 100);
    const err = await any.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ThreadError);
    expect((err as ThreadError).remoteName).toBe('ReceiveTimeoutError');
    expect((err as Error).message).toBe(`Thread ${any.id}: receive() got no message from any thread within 100 ms.`);
  });

  it('refuses a send to a thread that does not exist, naming the valid range', async () => {
    const t = vc.spawn(fx.sendMany, 10_000, 1);
    const err = await t.result.then(
      () => undefined,
      (e: unknown) => e as ThreadError,
    );
    expect(err?.remoteName).toBe('RangeError');
    expect(err?.message).toMatch(/^thread\.send\(to, value\): there is no thread 10000; thread ids go from 0 to thread\.count - 1/);
  });
});

describe('backpressure with a tiny mailbox', () => {
  const swarm = new PeerSwarm();
  let fx: typeof Threads;
  let vc: VirtualComputer;

  beforeAll(async () => {
    [fx] = await Promise.all([loadThreads('backpressure'), swarm.start([1, 1])]);
    vc = await VirtualComputer.create({ controller: swarm.controller.url, swarmKey: swarm.key, workers: 2, mailboxSize: 2, enrolTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await vc?.close();
    await swarm.stop();
  });

  it('makes a fast sender wait for a slow receiver, and loses nothing', async () => {
    const n = 40;
    const rx = vc.spawn(fx.receiveMany, 1, n, 25);
    const tx = vc.spawn(fx.sendMany, 0, n);
    const [sent, got] = await Promise.all([tx.result, rx.result]);
    expect(rx.host).not.toBe(tx.host);
    expect(got.order).toEqual(Array.from({ length: n }, (_, i) => i));
    // How far ahead of the receiver the sender ever got: its window (2), the mailbox (2), what the receiver
    // prefetched (2), and the send in progress.
    let ahead = 0;
    for (let i = 0; i < n; i++) {
      const receivedBy = got.times.filter((t) => t <= sent[i]!).length;
      ahead = Math.max(ahead, i + 1 - receivedBy);
    }
    expect(ahead).toBeLessThanOrEqual(8);
    // Without backpressure the sender would finish at once; it finishes with the receiver instead.
    expect(got.times[n - 1]! - sent[n - 1]!).toBeLessThan(25 * 10);
  });
});

describe('globals', () => {
  const swarm = new PeerSwarm();
  let fx: typeof Threads;
  let vc: VirtualComputer;

  beforeAll(async () => {
    [fx] = await Promise.all([loadThreads('globals'), swarm.start([2, 2, 2])]);
    vc = await VirtualComputer.create({ controller: swarm.controller.url, swarmKey: swarm.key, workers: 3, enrolTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await vc?.close();
    await swarm.stop();
  });

  it('ends a counter incremented through update by six threads on three peers exactly at the total', async () => {
    const threads = Array.from({ length: 6 }, () => vc.spawn(fx.increment, 'counter', 40));
    const last = await Promise.all(threads.map((t) => t.result));
    expect(new Set(threads.map((t) => t.host)).size).toBe(3);
    expect(await vc.globals.get('counter')).toBe(240);
    // Every update saw a distinct value: the last one of each thread is one of 1..240, one of them 240.
    expect(Math.max(...last)).toBe(240);
    expect(new Set(last).size).toBe(6);
  });

  it('counts exactly with compareAndSet retries too', async () => {
    const threads = Array.from({ length: 4 }, () => vc.spawn(fx.casIncrement, 'cas-counter', 25));
    await Promise.all(threads.map((t) => t.result));
    expect(await vc.globals.get('cas-counter')).toBe(100);
  });

  it('compareAndSet compares structurally and sets only on a match', async () => {
    const r = await vc.spawn(fx.casSemantics, 'cas').result;
    expect(r).toEqual([true, false, true, false, true, 7, undefined]);
  });

  it('lets the application set, get and watch globals, each change seen once and in order', async () => {
    await vc.globals.set('from-app', new Map([['x', 1]]));
    expect(await vc.spawn(fx.read, 'from-app').result).toEqual({ map: [['x', 1]] });
    const seen: unknown[] = [];
    const stop = await vc.globals.watch('w', (v) => seen.push(v));
    await vc.spawn(fx.setEach, 'w', [1, 2, { three: 3 }]).result;
    await until(() => seen.length === 3, 'three changes');
    expect(seen).toEqual([1, 2, { three: 3 }]);
    await stop();
    await vc.spawn(fx.setEach, 'w', [4]).result;
    await sleep(100);
    expect(seen).toHaveLength(3);
    expect(await vc.globals.get('w')).toBe(4);
    expect(await vc.globals.get('never-set')).toBeUndefined();
  });

  it('refuses a write inside an update of the same variable by the same thread instead of deadlocking', async () => {
    expect(await vc.spawn(fx.nestedUpdate, 'nested').result).toBe('ThreadEffectError: ERR_LOCK_REENTRY');
  });
});

describe('lock leases', () => {
  const swarm = new PeerSwarm();
  let fx: typeof Threads;
  let vc: VirtualComputer;

  beforeAll(async () => {
    // A controller that runs no threads, and two workers: killing a worker never kills the owner.
    [fx] = await Promise.all([loadThreads('leases'), swarm.start([0, 1, 1])]);
    vc = await VirtualComputer.create({ controller: swarm.controller.url, swarmKey: swarm.key, workers: 2, lockLeaseMs: 1000, enrolTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await vc?.close();
    await swarm.stop();
  });

  it("releases the lock of a thread whose peer was SIGKILLed when its lease expires; the next thread gets it, unwritten", async () => {
    await vc.globals.set('leased', 1);
    const holder = vc.spawn(fx.holdForever, 'leased');
    await new Promise<void>((resolve) => holder.once('progress', () => resolve()));
    const waiter = vc.spawn(fx.incrementOnce, 'leased');
    await until(() => waiter.state === 'running', 'the waiter to start');
    await sleep(300);
    expect(waiter.finished).toBe(false);
    const victim = swarm.peer(holder.host);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    // The holder's +1000 never happened: the waiter sees the value from before.
    expect(await waiter.result).toBe(2);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(10_000);
    expect(await vc.globals.get('leased')).toBe(2);
    await holder.cancel().catch(() => {});
  });
});
