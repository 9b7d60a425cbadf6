/**
 * Message passing and globals across failures (docs/effects-and-recovery.md): a peer is SIGKILLed while
 * threads talk or count through globals; the threads it ran resume from their checkpoints elsewhere, and no
 * message or globals operation is lost or applied twice. A controller that runs no threads owns the virtual
 * computer, so that killing a worker never kills the owner.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualComputer } from '../../src/client/index.ts';
import { loadThreads, PeerSwarm, until } from './helpers.ts';
import type * as Threads from './fixtures/threads.ts';

describe('messages and globals when a worker is SIGKILLed', () => {
  let fx: typeof Threads;
  let swarm: PeerSwarm | undefined;
  let vc: VirtualComputer | undefined;

  beforeAll(async () => {
    fx = await loadThreads('recovery');
  });
  afterEach(async () => {
    await vc?.close();
    await swarm?.stop();
    vc = undefined;
    swarm = undefined;
  });

  for (const [label, mailboxSize] of [
    ['after the sender finished (its outbox is at the owner)', 256],
    ['while the sender still sends (its outbox re-sends)', 16],
  ] as const) {
    it(`delivers every message exactly once, in order, when the receiver is killed with messages in flight, ${label}`, async () => {
      swarm = new PeerSwarm();
      await swarm.start([0, 1, 1, 1]);
      vc = await VirtualComputer.create({
        controller: swarm.controller.url,
        swarmKey: swarm.key,
        workers: 2,
        mailboxSize,
        checkpoint: { intervalMs: 50 },
        enrolTimeoutMs: 5000,
      });
      const n = 300;
      const rx = vc.spawn(fx.slowReceiver, 1, n, 4);
      const tx = vc.spawn(fx.sendMany, 0, n, 64);
      const migrations: { fromCheckpoint: boolean }[] = [];
      rx.on('migrated', (m) => migrations.push(m));
      // Kill the receiver's peer once it has received a good part of the messages (and checkpointed).
      await until(() => rx.progressCount >= 8, 'the receiver to get 70 messages', 30_000);
      const victim = swarm.peer(rx.host);
      expect(victim.peerId).not.toBe(swarm.controller.peerId);
      expect(tx.finished).toBe(mailboxSize === 256);
      victim.child.kill('SIGKILL');
      const [order] = await Promise.all([rx.result, tx.result]);
      expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(migrations).toHaveLength(1);
      expect(migrations[0]!.fromCheckpoint).toBe(true);
      expect(rx.host).not.toBe(victim.peerId);
    });
  }

  it('ends a counter updated by four threads exactly at the total when a worker is killed mid-run', async () => {
    swarm = new PeerSwarm();
    await swarm.start([0, 2, 2, 2]);
    vc = await VirtualComputer.create({ controller: swarm.controller.url, swarmKey: swarm.key, workers: 2, checkpoint: { intervalMs: 50 }, lockLeaseMs: 1000, enrolTimeoutMs: 5000 });
    const each = 150;
    const threads = Array.from({ length: 4 }, () => vc!.spawn(fx.increment, 'killed-counter', each));
    await until(async () => ((await vc!.globals.get<number>('killed-counter')) ?? 0) >= 150, 'a quarter of the increments', 30_000);
    const victimHost = threads.find((t) => t.host !== undefined && t.host !== swarm!.controller.peerId)!.host;
    swarm.peer(victimHost).child.kill('SIGKILL');
    await Promise.all(threads.map((t) => t.result));
    expect(await vc.globals.get('killed-counter')).toBe(4 * each);
  });
});
