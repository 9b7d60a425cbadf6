/**
 * An owner's controller frozen (SIGSTOP) until its workers declare it dead, then thawed (SIGCONT): the workers have
 * dropped its threads and the holders its checkpoints. Placements are leases: the owner finds out which of its
 * threads no longer run anywhere and resumes them, so the application gets its result (the undisturbed one, exactly
 * once), never a thread shown running where nothing runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrunch, FaultSwarm, observe, referenceRun, type CrunchModule } from './helpers.ts';
import type { VirtualComputer } from '../../src/client/index.ts';

/** About 4 s of rounds: the thread is still running when the owner thaws. */
const JOB: [steps: number, work: number, stepMs: number] = [1000, 40_000, 4];

let job: CrunchModule;
let swarm: FaultSwarm;
let vc: VirtualComputer | undefined;

beforeAll(async () => {
  job = await buildCrunch();
  swarm = await FaultSwarm.start({ workers: 2 });
});

afterAll(async () => {
  await vc?.close().catch(() => {});
  await swarm?.stop();
});

describe('an owner frozen until its workers declare it dead', () => {
  it('resumes the threads its workers dropped once it thaws: the result arrives, the same as undisturbed', async () => {
    const expected = await referenceRun(0, [JOB[0], JOB[1]]);
    vc = await swarm.create({ workers: 2, checkpoint: { intervalMs: 150 } });
    const t = vc.spawn(job.crunch, ...JOB);
    const seen = observe(t);
    let host: string | undefined;
    await swarm.waitFor(
      async () => {
        const s = await swarm.thread(vc!.id, 0);
        host = s?.host;
        return s?.state === 'running' && s.checkpoint !== undefined && s.progress > 20;
      },
      20_000,
      'thread 0 running with an acknowledged checkpoint',
    );
    const owner = swarm.controller;
    owner.child.kill('SIGSTOP');
    try {
      // Frozen until the worker that runs the thread holds the owner dead (and so drops the thread): measured, not
      // guessed, through the worker's own view of the membership.
      await swarm.waitFor(async () => (await swarm.members(swarm.peer(host!))).get(owner.peerId) === 'dead', 30_000, `${host} to declare the owner dead`);
    } finally {
      owner.child.kill('SIGCONT');
    }
    expect(await t.result).toEqual(expected.result);
    expect(seen.progress).toEqual(expected.progress);
  });
});
