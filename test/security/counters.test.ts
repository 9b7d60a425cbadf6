/**
 * Bounded counters from the wire (issue 15): a malicious but authenticated peer sends numbers that would break
 * arithmetic (a refutation at 2^53, epochs and sequence numbers past the safe integers) to real daemons on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultSwarm, buildCrunch, referenceRun, type CrunchModule } from '../fault-tolerance/helpers.ts';
import { askPeer } from '../support/ask-peer.ts';
import { validateMessage } from '../../src/protocol/messages.ts';
import { rawPeer, sleep } from './helpers.ts';

let job: CrunchModule;
let swarm: FaultSwarm;

beforeAll(async () => {
  job = await buildCrunch();
  swarm = await FaultSwarm.start({ workers: 2 });
});

afterAll(async () => {
  await swarm?.stop();
});

describe('incarnations', () => {
  it('a gossip naming a peer suspect at incarnation 2^53-1 does not make the swarm forget it', async () => {
    const [victim] = swarm.liveWorkers;
    const members = await askPeer(swarm.controller.url, swarm.key, 'members');
    const rec = members.peers.find((p) => p.id === victim!.peerId)!;
    const huge = Number.MAX_SAFE_INTEGER;
    const suspect = { id: rec.id, url: rec.url, inc: huge, state: 'suspect', slots: rec.slots, free: rec.freeSlots, speed: rec.speed, mv: 0 } as const;
    // To the victim itself (it would refute at 2^53) and to the controller (it would believe it).
    for (const target of [victim!, swarm.controller]) {
      const mallory = await rawPeer(target.url, swarm.key);
      mallory.send({ t: 'gossip', g: [suspect, { ...suspect, inc: rec.incarnation + 2 ** 21 }] });
      await sleep(100);
      mallory.close();
    }
    // Longer than suspicion and death detection take.
    await sleep(4000);
    const after = await askPeer(swarm.controller.url, swarm.key, 'members');
    const seen = after.peers.find((p) => p.id === victim!.peerId)!;
    expect(seen.state).toBe('alive');
    expect(Number.isSafeInteger(seen.incarnation) && seen.incarnation < 2 ** 40).toBe(true);
    const own = (await askPeer(victim!.url, swarm.key, 'members')).peers.find((p) => p.id === victim!.peerId)!;
    expect(own.incarnation).toBeLessThan(2 ** 40);
    // And it keeps working: a thread placed on it runs to its result.
    const vc = await swarm.create({ workers: 2 });
    try {
      const args: [number, number, number] = [20, 1000, 0];
      const expected = await referenceRun(0, [args[0], args[1]]);
      const threads = [vc.spawn(job.crunch, ...args), vc.spawn(job.crunch, ...args)];
      expect((await threads[0]!.result).hash).toBe(expected.result.hash);
      await threads[1]!.result;
      expect(threads.map((t) => t.host)).toContain(victim!.peerId);
    } finally {
      await vc.close();
    }
  });
});

describe('schema bounds of counters', () => {
  const base = { vc: 'v', thread: 0, epoch: 1, value: 1, others: 0, token: new Uint8Array(16) };
  it.each([
    ['exec-result epoch', { t: 'exec-result', ...base, epoch: Number.MAX_SAFE_INTEGER }],
    ['exec-result thread', { t: 'exec-result', ...base, thread: 2 ** 41 }],
    ['exec-progress seq', { t: 'exec-progress', vc: 'v', thread: 0, epoch: 1, seq: Number.MAX_SAFE_INTEGER, value: 1, token: new Uint8Array(16) }],
    ['exec-result without a token', { t: 'exec-result', vc: 'v', thread: 0, epoch: 1, value: 1, others: 0 }],
    ['exec-result with a short token', { ...base, t: 'exec-result', token: new Uint8Array(4) }],
    ['vc-create workers', { t: 'vc-create', id: 1, workers: Number.MAX_SAFE_INTEGER, minWorkers: 1, enrolTimeoutMs: 1 }],
    ['spawn count', { t: 'spawn', vc: 'v', count: Number.MAX_SAFE_INTEGER, threads: [] }],
    ['checkpoint-put n', { t: 'checkpoint-put', id: 1, vc: 'v', owner: 'o', thread: 0, epoch: 1, n: Number.MAX_SAFE_INTEGER, snapshot: new Uint8Array(1) }],
    ['msg-deliver round', { t: 'msg-deliver', vc: 'v', from: 0, to: 1, epoch: 1, round: Number.MAX_SAFE_INTEGER, origin: 'a', dest: 'b', msgs: new Uint8Array(4) }],
  ])('refuses %s out of bounds', (_what, msg) => {
    expect(() => validateMessage(msg)).toThrow();
  });

  it('accepts the largest bounded values', () => {
    expect(() => validateMessage({ t: 'exec-result', ...base, epoch: 2 ** 40, thread: 2 ** 40 })).not.toThrow();
  });
});
