/**
 * Authorization on every message (issue 15, item 2): real daemons on loopback (an owner controller and worker
 * peers), the test process as the application, and a malicious but authenticated peer (a valid swarm key, a raw
 * connection: helpers.ts) trying each attack of the list.
 *
 * Where an attack needs the attacker to pass for another peer (`claim`), it is what today's unauthenticated hello
 * allows; the checks below must hold anyway, by what only the rightful sender knows (the placement token issued by
 * the owner). Once identity keys land the claim is refused outright and the id checks refuse the rest.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { FaultSwarm, buildCrunch, observe, referenceRun, type CrunchModule } from '../fault-tolerance/helpers.ts';
import { adminTokenOf, askPeer, peerDataDirs } from '../support/ask-peer.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VirtualComputer } from '../../src/client/index.ts';
import { CheckpointStore } from '../../src/daemon/host/checkpoint-store.ts';
import { encodeValue } from '../../src/runtime/snapshot-codec.ts';
import { guessedToken, rawPeer, sleep } from './helpers.ts';

let job: CrunchModule;
let swarm: FaultSwarm;
let vc: VirtualComputer | undefined;

/** About 2 s of work: long enough to attack it while it runs. */
const JOB: [number, number, number] = [400, 20_000, 5];

beforeAll(async () => {
  job = await buildCrunch();
  swarm = await FaultSwarm.start({ workers: 3 });
});

afterEach(async () => {
  await vc?.close();
  vc = undefined;
});

afterAll(async () => {
  await swarm?.stop();
});

/** Waits until thread `id` of `v` runs with an acknowledged checkpoint; returns where it runs and who holds it. */
async function running(v: VirtualComputer, id: number, checkpointed = false): Promise<{ host: string; epoch: number; holders: string[] }> {
  let out: { host: string; epoch: number; holders: string[] } | undefined;
  await swarm.waitFor(
    async () => {
      const t = await swarm.thread(v.id, id);
      if (t?.state !== 'running' || t.host === undefined || t.progress < 5) return false;
      if (checkpointed && t.checkpoint === undefined) return false;
      out = { host: t.host, epoch: t.placements, holders: t.checkpoint?.holders ?? [] };
      return true;
    },
    20_000,
    `thread ${id} of ${v.id} to run${checkpointed ? ' with a checkpoint' : ''}`,
  );
  return out!;
}

describe('a malicious peer with the swarm key', () => {
  it('cannot report a result for a thread it does not host: the application gets the real one', async () => {
    const expected = await referenceRun(0, [JOB[0], JOB[1]]);
    vc = await swarm.create({ workers: 2 });
    const t = vc.spawn(job.crunch, ...JOB);
    const seen = observe(t);
    const { host, epoch } = await running(vc, 0);
    const forged = { t: 'exec-result', vc: vc.id, thread: 0, epoch, value: { forged: true }, others: 0, token: guessedToken() } as const;
    // As itself, and passing for the thread's host (today's hello lets it claim that id).
    for (const claim of [undefined, host]) {
      const mallory = await rawPeer(swarm.controller.url, swarm.key, { claim });
      mallory.send(forged);
      mallory.send({ t: 'exec-progress', vc: vc.id, thread: 0, epoch, seq: 2 ** 40, value: { forged: true }, token: guessedToken() });
      await sleep(200);
      mallory.close();
    }
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
  });

  it('cannot make the owner retry or fail a thread by reporting executor crashes or a resource limit for it', async () => {
    const expected = await referenceRun(0, [JOB[0], JOB[1]]);
    vc = await swarm.create({ workers: 2 });
    const t = vc.spawn(job.crunch, ...JOB);
    const seen = observe(t);
    const { host, epoch } = await running(vc, 0);
    const base = { t: 'exec-error', vc: vc.id, thread: 0, epoch, stack: '', others: 0, token: guessedToken() } as const;
    for (const claim of [undefined, host]) {
      const mallory = await rawPeer(swarm.controller.url, swarm.key, { claim });
      // More crashes than maxErrors (3): accepted, they would fail the thread with ThreadCrashedError.
      for (let i = 0; i < 5; i++) mallory.send({ ...base, name: 'ExecutorCrashError', code: 'ERR_EXECUTOR_CRASHED', message: 'the executor process was killed by SIGKILL' });
      mallory.send({ ...base, name: 'ResourceLimitError', code: 'ERR_RESOURCE_LIMIT', limit: 'cpu', message: 'forged limit' });
      await sleep(200);
      mallory.close();
    }
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    expect(seen.migrations).toEqual([]);
  });

  it("cannot download another owner's code by its hash from the owner's controller", async () => {
    vc = await swarm.create({ workers: 2 });
    const t = vc.spawn(job.crunch, ...JOB);
    const { host } = await running(vc, 0);
    const installed = join(peerDataDirs.get(swarm.peer(host).url)!, 'assemblies', swarm.controller.peerId);
    const hash = readdirSync(installed).find((f) => f.endsWith('.mjs'))!.replace(/\.mjs$/, '');
    const mallory = await rawPeer(swarm.controller.url, swarm.key);
    try {
      await expect(mallory.request({ t: 'assembly-fetch', hash })).rejects.toMatchObject({ code: 'ERR_NO_ASSEMBLY' });
    } finally {
      mallory.close();
    }
    await t.result;
  });

  it("cannot cancel another owner's thread on its worker: the thread keeps running", async () => {
    const expected = await referenceRun(0, [JOB[0], JOB[1]]);
    vc = await swarm.create({ workers: 2 });
    const t = vc.spawn(job.crunch, ...JOB);
    const { host } = await running(vc, 0);
    const worker = swarm.peer(host);
    for (const claim of [undefined, swarm.controller.peerId]) {
      const mallory = await rawPeer(worker.url, swarm.key, { claim });
      const reply = await mallory.request({ t: 'exec-cancel', vc: vc.id, thread: 0, token: guessedToken() });
      expect(reply.found).toBe(false);
      mallory.close();
    }
    expect(await t.result).toEqual(expected.result);
  });

  it("cannot read or write another owner's global through globals-op: refused, value unchanged", async () => {
    vc = await swarm.create({ workers: 2 });
    await vc.globals.set('secret', 'original');
    const t = vc.spawn(job.crunch, ...JOB);
    const { host, epoch } = await running(vc, 0);
    for (const claim of [undefined, host]) {
      const mallory = await rawPeer(swarm.controller.url, swarm.key, { claim });
      const op = { vc: vc.id, thread: 0, epoch, seq: 2 ** 40, name: 'secret', token: guessedToken() };
      await expect(mallory.request({ t: 'globals-op', ...op, op: 'set', value: encodeValue('forged') })).rejects.toThrow();
      await expect(mallory.request({ t: 'globals-op', ...op, seq: 2 ** 40 + 1, op: 'get' })).rejects.toThrow();
      mallory.close();
    }
    expect(await vc.globals.get('secret')).toBe('original');
    await t.result;
  });

  it("cannot fetch another owner's checkpoint from its holder", async () => {
    vc = await swarm.create({ workers: 2, checkpoint: { intervalMs: 100 } });
    const t = vc.spawn(job.crunch, ...JOB);
    await running(vc, 0, true);
    const ck = (await swarm.thread(vc.id, 0))!.checkpoint!;
    const holder = swarm.peer(ck.holders[0]!);
    const mallory = await rawPeer(holder.url, swarm.key);
    await expect(mallory.request({ t: 'checkpoint-fetch', vc: vc.id, thread: 0, epoch: ck.epoch, n: ck.n })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    mallory.close();
    await t.result;
  });

  it('cannot store checkpoints for invented owners; a real thread stays protected', async () => {
    vc = await swarm.create({ workers: 2, checkpoint: { intervalMs: 100 } });
    const t = vc.spawn(job.crunch, ...JOB);
    const { host } = await running(vc, 0, true);
    const holderId = (await swarm.thread(vc.id, 0))!.checkpoint!.holders[0]!;
    const holder = swarm.peer(holderId);
    const before = (await askPeer(holder.url, swarm.key, 'vc-status')).held!.bytes;
    const mallory = await rawPeer(holder.url, swarm.key);
    const snapshot = new Uint8Array(1 << 20);
    let refused = 0;
    const puts = Array.from({ length: 8 }, (_, i) => {
      const put = { t: 'checkpoint-put', vc: `fake${i}${randomBytes(4).toString('hex')}`, owner: `ghost-${i}`, thread: 0, epoch: 1, n: 1, snapshot } as const;
      return mallory.request(put, 30_000).catch(() => refused++);
    });
    // Nor for the real owner's virtual computer: the owner did not announce this sender.
    puts.push(mallory.request({ t: 'checkpoint-put', vc: vc.id, owner: swarm.controller.peerId, thread: 0, epoch: 1, n: 10_000, snapshot }, 30_000).catch(() => refused++));
    await Promise.all(puts);
    mallory.close();
    expect(refused).toBe(9);
    const after = (await askPeer(holder.url, swarm.key, 'vc-status')).held!.bytes;
    expect(after - before).toBeLessThan(1 << 20);
    const s = await swarm.thread(vc.id, 0);
    if (s?.state === 'running') {
      expect(s.protection).toBe('protected');
      expect(s.checkpoint?.holders.some((h) => h !== host)).toBe(true);
    }
    await t.result;
  });

  it('sees only its own virtual computers in vc-status; the local admin credential sees all', async () => {
    vc = await swarm.create({ workers: 1 });
    const url = swarm.controller.url;
    const other = await rawPeer(url, swarm.key, { role: 'client' });
    try {
      const mine = await other.request({ t: 'vc-create', workers: 1, minWorkers: 1, enrolTimeoutMs: 5000 });
      const seen = await other.request({ t: 'vc-status' });
      expect(seen.vcs.map((v) => v.vc)).toEqual([mine.vc]);
      // A wrong credential shows no more.
      const guessed = await other.request({ t: 'vc-status', admin: randomBytes(32).toString('hex') });
      expect(guessed.vcs.map((v) => v.vc)).toEqual([mine.vc]);
      // A peer sees no client's virtual computers.
      const peer = await rawPeer(url, swarm.key);
      expect((await peer.request({ t: 'vc-status' })).vcs).toEqual([]);
      peer.close();
      const admin = await other.request({ t: 'vc-status', admin: adminTokenOf(url)! });
      expect(new Set(admin.vcs.map((v) => v.vc))).toEqual(new Set([mine.vc, vc.id]));
    } finally {
      other.close();
    }
  });
});

describe('checkpoint store grants and quotas', () => {
  const put = (vc: string, owner: string, epoch = 1, size = 10) => ({ vc, owner, thread: 0, epoch, n: 1, snapshot: new Uint8Array(size) });

  it('takes copies only from a host its owner announced, up to the announced placement', async () => {
    const store = new CheckpointStore({ grantWaitMs: 20 });
    await expect(store.authorize('put', put('v', 'o'), 'h')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    expect(store.grant('v', 0, 2, 'h', 'o')).toBe(true);
    await store.authorize('put', put('v', 'o', 2), 'h');
    await expect(store.authorize('put', put('v', 'o', 3), 'h')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    await expect(store.authorize('put', put('v', 'x', 2), 'h')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    await expect(store.authorize('put', put('v', 'o', 2), 'm')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    // Another peer cannot take the virtual computer over, nor drop or release its copies.
    expect(store.grant('v', 0, 5, 'm', 'mallory')).toBe(false);
    await store.put(put('v', 'o', 2));
    expect(store.dropBelow('v', 0, undefined, 'mallory')).toBe(false);
    expect(store.release('v', 'mallory')).toBe(false);
    expect(store.holds('v', 0)).toBe(true);
    // Fetches: the owner and the granted host only.
    await store.authorize('fetch', { vc: 'v', thread: 0, epoch: 2 }, 'o');
    await store.authorize('fetch', { vc: 'v', thread: 0, epoch: 2 }, 'h');
    await expect(store.authorize('fetch', { vc: 'v', thread: 0, epoch: 2 }, 'm')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  });

  it('waits for a grant still on its way', async () => {
    const store = new CheckpointStore({ grantWaitMs: 2000 });
    const waiting = store.authorize('put', put('v', 'o'), 'h');
    setTimeout(() => store.grant('v', 0, 1, 'h', 'o'), 50);
    await waiting;
  });

  it('holds at most maxBytesPerOwner for one owner', async () => {
    const store = new CheckpointStore({ maxBytes: 100, maxBytesPerOwner: 25 });
    await store.put(put('a', 'o1', 1, 20));
    await expect(store.put({ ...put('a', 'o1', 1, 10), thread: 1 })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_STORE_FULL' });
    await store.put(put('b', 'o2', 1, 20));
    expect(store.ownerBytes('o1')).toBe(20);
    expect(store.stats().bytes).toBe(40);
  });
});
