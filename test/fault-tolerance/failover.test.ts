/**
 * Fault tolerance under kill -9 (DESIGN.md, Guarantees): a deterministic, CPU-heavy, checkpointing job gives the
 * same result, and the application sees the same progress values exactly once, when peers die under it.
 * Real peer processes on loopback; the job is built by `ppp2p build`, so a resumed thread continues mid-run.
 *
 * The kill tests share one pool of worker processes (starting a peer costs about a second of CPU): each test
 * creates its own virtual computer, and the pool is topped up after the test with as many peers as it killed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCrunch, FaultSwarm, observe, referenceRun, type CrunchModule } from './helpers.ts';
import type { VirtualComputer } from '../../src/client/index.ts';
import { adminTokenOf } from '../support/ask-peer.ts';

let job: CrunchModule;
/**
 * 240 rounds of 40k draws, each round at least 4 ms: about 1 s undisturbed, on a fast machine or a loaded one
 * (a killed host pauses it: its failover adds no work). The draws alone take 1-4 ms a round.
 */
const ARGS: Job = [240, 40_000, 4];
/** For tests that kill a host twice: about 1.6 s. */
const LONG: Job = [400, 40_000, 4];
/** For tests that kill holders (the thread runs on meanwhile), or need two threads running at once: about 4 s, longer than detection and replication. */
const XLONG: Job = [1000, 40_000, 4];
/** Checkpoint every 150 ms of run time: several acknowledged checkpoints before each kill. */
const checkpoint = { intervalMs: 150 };
/** Worker processes in the shared pool. */
const POOL = 4;

let vc: VirtualComputer | undefined;

/** `crunch`'s rounds, draws per round and least milliseconds per round. */
type Job = [steps: number, work: number, stepMs: number];

/** Undisturbed runs, computed once per thread id and job; unpaced, since the pace changes no result. */
const references = new Map<string, ReturnType<typeof referenceRun>>();
function reference(id: number, [steps, work]: Job): ReturnType<typeof referenceRun> {
  const key = JSON.stringify([id, steps, work]);
  let r = references.get(key);
  if (r === undefined) references.set(key, (r = referenceRun(id, [steps, work])));
  return r;
}

beforeAll(async () => {
  job = await buildCrunch();
});

afterEach(async () => {
  await vc?.close();
  vc = undefined;
});

/** Waits until the thread's placement `placement` has an acknowledged checkpoint and has made `minProgress` progress. */
async function checkpointed(s: FaultSwarm, v: VirtualComputer, thread: number, placement: number, minProgress = 0): Promise<{ host: string; holders: string[] }> {
  let out: { host: string; holders: string[] } | undefined;
  await s.waitFor(
    async () => {
      const t = await s.thread(v.id, thread);
      if (t?.state !== 'running' || t.host === undefined || t.placements !== placement || t.checkpoint === undefined) return false;
      if (t.checkpoint.epoch !== placement || t.progress < minProgress) return false;
      out = { host: t.host, holders: t.checkpoint.holders };
      return true;
    },
    20_000,
    `an acknowledged checkpoint of thread ${thread} in placement ${placement}`,
  );
  return out!;
}

describe('a checkpointing job survives kill -9', () => {
  let swarm: FaultSwarm;

  beforeAll(async () => {
    // Holders wait 150 ms before storing and acknowledging each copy: transfers are long enough to be hit.
    const started = FaultSwarm.start({ workers: POOL, env: { PPP2P_FAULT_CHECKPOINT_STORE_DELAY_MS: '150' } });
    // The undisturbed runs, one at a time in a worker thread while the peers start.
    await reference(0, ARGS);
    await reference(0, LONG);
    await reference(1, LONG);
    await reference(0, XLONG);
    await reference(1, XLONG);
    swarm = await started;
  });

  afterEach(async (ctx) => {
    // The last test leaves one worker: nothing follows it.
    if (ctx.task.name.includes('last worker standing')) return;
    const missing = POOL - swarm.liveWorkers.length;
    if (missing > 0) await swarm.addWorkers(missing);
  });

  afterAll(async () => {
    await swarm?.stop();
  });

  it('resumes on the holder of its checkpoint when its worker is killed mid-run, with the same result and progress', async () => {
    const expected = await reference(0, ARGS);
    vc = await swarm.create({ workers: 2, checkpoint });
    const t = vc.spawn(job.crunch, ...ARGS);
    const seen = observe(t);
    const { host, holders } = await checkpointed(swarm, vc, 0, 1, 40);
    expect(holders).toHaveLength(1);
    expect(holders[0]).not.toBe(host);
    await swarm.kill(host);
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    // The holder had a free slot: the thread resumed there, with nothing to transfer.
    expect(seen.migrations).toEqual([{ from: host, to: holders[0], reason: 'failure', fromCheckpoint: true }]);
    const status = await swarm.thread(vc.id, 0);
    expect(status?.placements).toBe(2);
    expect(status?.migrations).toMatchObject([{ from: host, to: holders[0], reason: 'failure', fromCheckpoint: true }]);
  });

  it('replicates its checkpoints again when their holder is killed, and runs on undisturbed', async () => {
    const expected = await reference(0, XLONG);
    vc = await swarm.create({ workers: 2, checkpoint });
    const t = vc.spawn(job.crunch, ...XLONG);
    const seen = observe(t);
    const { host, holders } = await checkpointed(swarm, vc, 0, 1);
    const holder = holders[0]!;
    await swarm.kill(holder);
    // Its only copy died with it: the host snapshots again and a new holder acknowledges that snapshot.
    let reprotected: string[] = [];
    await swarm.waitFor(
      async () => {
        const s = await swarm.thread(vc!.id, 0);
        reprotected = s?.checkpoint?.holders ?? [];
        return s?.state === 'running' && reprotected.length > 0 && !reprotected.includes(holder) && s.protection === 'protected';
      },
      10_000,
      'a new holder of thread 0',
    );
    expect(reprotected).not.toContain(host);
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    expect(seen.migrations).toEqual([]);
  });

  it('survives two peers killed one after the other: its worker, then the peer it resumed on', async () => {
    const expected = await reference(0, LONG);
    vc = await swarm.create({ workers: 2, checkpoint });
    const t = vc.spawn(job.crunch, ...LONG);
    const seen = observe(t);
    const first = await checkpointed(swarm, vc, 0, 1, 40);
    await swarm.kill(first.host);
    const second = await checkpointed(swarm, vc, 0, 2);
    expect(second.host).not.toBe(first.host);
    await swarm.kill(second.host);
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    expect(seen.migrations.map((m) => [m.from, m.reason, m.fromCheckpoint])).toEqual([
      [first.host, 'failure', true],
      [second.host, 'failure', true],
    ]);
  });

  it('survives a holder, then a worker, killed while a checkpoint is being transferred', async () => {
    const expected = await reference(0, XLONG);
    vc = await swarm.create({ workers: 2, checkpoint });
    const t = vc.spawn(job.crunch, ...XLONG);
    const seen = observe(t);
    const receiving = async (peer: string): Promise<boolean> => ((await swarm.status(swarm.peer(peer))).held?.receiving ?? 0) > 0;
    const first = await checkpointed(swarm, vc, 0, 1, 20);
    const holder = first.holders[0]!;
    await swarm.waitFor(() => receiving(holder), 10_000, `a transfer to holder ${holder}`);
    await swarm.kill(holder);
    // The placement goes on; its next checkpoint goes to a new holder. Kill its worker during a transfer there.
    let next = '';
    await swarm.waitFor(
      async () => {
        const s = await swarm.thread(vc!.id, 0);
        next = s?.checkpoint?.holders.find((h) => h !== holder) ?? '';
        return s?.placements === 1 && next !== '';
      },
      10_000,
      'a new holder',
    );
    await swarm.waitFor(() => receiving(next), 10_000, `a transfer to holder ${next}`);
    await swarm.kill(first.host);
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    expect(seen.migrations).toMatchObject([{ from: first.host, reason: 'failure', fromCheckpoint: true }]);
  });

  // Last: it kills every worker of the pool but one.
  it('finishes every thread on the last worker standing when all the others are killed', async () => {
    // Long threads: under load one thread can take seconds to reach its first acknowledged checkpoint, and the
    // other must still be running then (with LONG, one finished before the kills in a full-suite run).
    const expected = await Promise.all([0, 1].map((id) => reference(id, XLONG)));
    vc = await swarm.create({ workers: 3, checkpoint });
    const threads = [vc.spawn(job.crunch, ...XLONG), vc.spawn(job.crunch, ...XLONG)];
    const seen = threads.map((t) => observe(t));
    const hosts = await Promise.all(threads.map((t) => checkpointed(swarm, vc!, t.id, 1, 30)));
    expect(threads.map((t) => t.state)).toEqual(['running', 'running']);
    const survivor = swarm.liveWorkers.find((p) => !hosts.some((h) => h.host === p.peerId))!;
    await Promise.all(swarm.liveWorkers.filter((p) => p !== survivor).map((p) => swarm.kill(p.peerId)));
    const results = await Promise.all(threads.map((t) => t.result));
    expect(results).toEqual(expected.map((e) => e.result));
    for (const [i, s] of seen.entries()) {
      expect(s.progress).toEqual(expected[i]!.progress);
      expect(s.hosts.at(-1)).toBe(survivor.peerId);
    }
  });
});

// Its own swarm, unsandboxed (a trusted cluster): the proof that no step ran twice is a file the thread appends to,
// which a sandboxed executor may not write.
describe('a graceful leave, in a trusted swarm', () => {
  let swarm: FaultSwarm;
  beforeAll(async () => {
    const started = FaultSwarm.start({ workers: 2, sandbox: 'off' });
    await reference(0, ARGS);
    swarm = await started;
  });
  afterAll(async () => {
    await swarm?.stop();
  });

  it('migrates a thread without losing work when its peer gets SIGTERM, then the peer exits', async () => {
    const trace = join(swarm.dir, 'trace.txt');
    // The trace is a side effect only: result and progress are those of the run without it.
    const expected = await reference(0, ARGS);
    // The policy alone would take no snapshot in this run: the only one is the one the leave asks for.
    vc = await swarm.create({ workers: 2, checkpoint: { intervalMs: 60_000 } });
    const t = vc.spawn(job.crunch, ...ARGS, 0, trace);
    const seen = observe(t);
    await swarm.waitFor(() => seen.progress.length >= 60, 20_000, '60 progress values');
    const host = t.host!;
    const leaving = swarm.peer(host);
    await swarm.terminate(host);
    expect(leaving.child.exitCode).toBe(0);
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
    expect(seen.migrations).toMatchObject([{ from: host, reason: 'leave', fromCheckpoint: true }]);
    // No step ran twice: the thread resumed exactly where it stopped, on one other peer.
    const rounds = readFileSync(trace, 'utf8').trim().split('\n').map((l) => l.split(' '));
    expect(rounds.map((r) => Number(r[1]))).toEqual(Array.from({ length: ARGS[0] }, (_, i) => i));
    expect(new Set(rounds.map((r) => r[2])).size).toBe(2);
  });

});

describe('owner death and a swarm of one', () => {
  let swarm: FaultSwarm | undefined;

  afterEach(async () => {
    await vc?.close();
    vc = undefined;
    await swarm?.stop();
    swarm = undefined;
  });

  it('leaves no executor running and no checkpoint held once its owner is killed', async () => {
    swarm = await FaultSwarm.start({ workers: 2 });
    const s = swarm;
    vc = await s.create({ workers: 2, checkpoint });
    const threads = [vc.spawn(job.crunch, 1_000_000, 40_000), vc.spawn(job.crunch, 1_000_000, 40_000)];
    await Promise.all(threads.map((t) => checkpointed(s, vc!, t.id, 1)));
    const workers = s.liveWorkers;
    // Under load a falsely suspected worker may hand a thread over, so wait for both to be running
    // somewhere rather than pinning them one per worker: the point is that they run before the kill.
    await s.waitFor(
      async () => (await Promise.all(workers.map((w) => s.status(w)))).reduce((n, x) => n + x.executing.length, 0) === 2,
      10_000,
      'both threads to be executing on the workers',
    );
    await s.kill(s.controller.peerId);
    await expect(threads[0]!.result).rejects.toThrow(/lost/);
    await s.waitFor(
      async () => {
        const all = await Promise.all(workers.map((w) => s.status(w)));
        return all.every((x) => x.executing.length === 0 && x.free === x.slots && x.held?.versions === 0);
      },
      10_000,
      "the workers to drop the dead owner's threads and checkpoints",
    );
  });

  it('runs unprotected while no other peer can hold its checkpoints, says so, and is protected once a peer joins', async () => {
    swarm = await FaultSwarm.start({ workers: 0, controllerSlots: 1 });
    const s = swarm;
    vc = await s.create({ workers: 1, checkpoint });
    const t = vc.spawn(job.crunch, 1_000_000, 40_000);
    await s.waitFor(async () => (await s.thread(vc!.id, 0))?.protection === 'unprotected', 10_000, 'an unprotected thread');
    const { formatStatus, fetchStatus } = await import('../../src/cli/commands/status.ts');
    expect(formatStatus(await fetchStatus(s.controller.url, s.key, adminTokenOf(s.controller.url)))).toMatch(/UNPROTECTED: no other peer can hold its checkpoints/);
    const [joined] = await s.addWorkers(1);
    await s.waitFor(async () => (await s.thread(vc!.id, 0))?.protection === 'protected', 10_000, 'the thread to be protected');
    expect((await s.thread(vc.id, 0))?.checkpoint?.holders).toEqual([joined!.peerId]);
    await t.cancel();
  });
});
