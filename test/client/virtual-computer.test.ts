/**
 * Virtual computers on real daemons: three peer processes on loopback (one slot each), an application
 * connecting to the first one as its controller.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualComputer, EnrolmentError, ResourceLimitError, ThreadError, ThreadCancelledError } from '../../src/client/index.ts';
import type { RemoteError } from '../../src/protocol/errors.ts';
import { HandshakeError } from '../../src/protocol/errors.ts';
import type { StatusReport } from '../../src/cli/commands/status.ts';
import { buildFixtures, eventually, sleep, TestSwarm } from './helpers.ts';
import { peerDataDirs } from '../support/ask-peer.ts';
import type * as Threads from './fixtures/threads.ts';

import { NODE, cliArgs } from '../support/cli.ts';

async function loadFixtures(label: string): Promise<typeof Threads> {
  return (await import(join(await buildFixtures(label), 'threads.js'))) as typeof Threads;
}

describe('a virtual computer on three daemons', () => {
  const swarm = new TestSwarm();
  let fx: typeof Threads;
  let vc: VirtualComputer;
  let pidOf: Map<string, number>;

  beforeAll(async () => {
    const [peers, mod] = await Promise.all([swarm.start(3, { sandbox: 'off' }), loadFixtures('main')]);
    fx = mod;
    pidOf = new Map(peers.map((p) => [p.peerId, p.pid]));
    vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 3, enrolTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await vc?.close();
    await swarm.stop();
  });

  it('enrols every peer as a worker, the controller it connects to included', () => {
    expect(new Set(vc.workers.map((w) => w.id))).toEqual(new Set(swarm.peers.map((p) => p.peerId)));
    for (const w of vc.workers) expect(w.slots).toBe(1);
  });

  it('runs a thread and returns its result', async () => {
    expect(await vc.spawn(fx.add, 2, 3).result).toBe(5);
  });

  it('places concurrent threads on the workers with a free slot: one per peer', async () => {
    const threads = [0, 1, 2].map(() => vc.spawn(fx.whereAmI, 400));
    const results = await Promise.all(threads.map((t) => t.result));
    expect(new Set(results.map((r) => r.pid))).toEqual(new Set(pidOf.values()));
    for (const t of threads) expect(pidOf.get(t.host!)).toBe((await t.result).pid);
  });

  it('queues a thread while every slot is busy and starts it when a slot frees', async () => {
    const busy = [0, 1, 2].map(() => vc.spawn(fx.whereAmI, 700));
    const waiting = vc.spawn(fx.whereAmI, 0);
    await eventually(() => busy.every((t) => t.state === 'running'));
    await sleep(200);
    expect(waiting.state).toBe('queued');
    const controller = await swarm.status(swarm.peers[0]!);
    expect(controller.vcs.find((v) => v.vc === vc.id)?.queued).toBe(1);
    let finishedFirst = 0;
    for (const t of busy) void t.result.then(() => finishedFirst++);
    await new Promise<void>((resolve) => waiting.once('started', () => resolve()));
    expect(finishedFirst).toBeGreaterThanOrEqual(1);
    await Promise.all([...busy, waiting].map((t) => t.result));
  });

  it('sees thread.id in spawn order and thread.count as the number spawned in the same turn', async () => {
    const first = vc.spawn(fx.whereAmI, 0);
    const batch = [vc.spawn(fx.whereAmI, 0), vc.spawn(fx.whereAmI, 0)];
    const results = await Promise.all([first, ...batch].map((t) => t.result));
    expect(results.map((r) => r.id)).toEqual([first.id, batch[0]!.id, batch[1]!.id]);
    expect(batch[1]!.id).toBe(first.id + 2);
    for (const r of results) expect(r.count).toBe(first.id + 3);
  });

  it('delivers progress in order, as events and through the async iterator', async () => {
    const t = vc.spawn(fx.countTo, 50);
    const events: unknown[] = [];
    t.on('progress', (p) => events.push(p));
    const iterated: unknown[] = [];
    for await (const p of t) iterated.push(p);
    const expected = Array.from({ length: 50 }, (_, i) => ({ i }));
    expect(iterated).toEqual(expected);
    expect(events).toEqual(expected);
    expect(await t.result).toBe(50);
    expect(t.progressCount).toBe(50);
  });

  it("delivers a thread's error with its stack mapped to the .ts line that threw", async () => {
    const t = vc.spawn(fx.fail, 'no tour');
    const err = await t.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ThreadError);
    const e = err as ThreadError;
    expect(e.remoteName).toBe('RangeError');
    expect(e.message).toBe('thread says: no tour');
    // fixtures/threads.ts line 25 is the `throw`.
    expect(e.stack).toMatch(/at fail \(.*test\/client\/fixtures\/threads\.ts:25:\d+\)/);
    expect(e.stack).not.toContain('src/runtime');
    expect(t.state).toBe('failed');
    // The failed thread's slot is free again.
    expect(await vc.spawn(fx.add, 1, 1).result).toBe(2);
  });

  it('cancels a running thread: its result rejects, its peer stops executing it, its slot frees', async () => {
    const t = vc.spawn(fx.forever);
    const it2 = t[Symbol.asyncIterator]();
    await it2.next();
    await it2.next();
    const host = swarm.peers.find((p) => p.peerId === t.host)!;
    expect((await swarm.status(host)).executing.map((e) => e.thread)).toContain(t.id);
    await t.cancel();
    await expect(t.result).rejects.toBeInstanceOf(ThreadCancelledError);
    expect(t.state).toBe('cancelled');
    expect((await swarm.status(host)).executing.map((e) => e.thread)).not.toContain(t.id);
    const again = await Promise.all([0, 1, 2].map(() => vc.spawn(fx.whereAmI, 100).result));
    expect(new Set(again.map((r) => r.pid)).size).toBe(3);
  });

  it('cancels a queued thread before it starts', async () => {
    const busy = [0, 1, 2].map(() => vc.spawn(fx.whereAmI, 500));
    const queued = vc.spawn(fx.whereAmI, 0);
    await eventually(() => busy.every((t) => t.state === 'running'));
    expect(queued.state).toBe('queued');
    await queued.cancel();
    await expect(queued.result).rejects.toBeInstanceOf(ThreadCancelledError);
    await Promise.all(busy.map((t) => t.result));
    expect(queued.host).toBeUndefined();
  });

  it('types spawn from the function: arguments are checked, the result has its return type', () => {
    // Compile-time only: the body never runs.
    const typed = (): void => {
      const t = vc.spawn(fx.whereAmI, 10);
      const pid: Promise<number> = t.result.then((r) => r.pid);
      void pid;
      // @ts-expect-error a string where fn takes a number
      vc.spawn(fx.add, 'one', 2);
      // @ts-expect-error a missing argument
      vc.spawn(fx.add, 1);
    };
    expect(typeof typed).toBe('function');
  });

  it('refuses spawn of a function that no built module registered, saying how to fix it', () => {
    const local = async (n: number): Promise<number> => n;
    expect(() => vc.spawn(local, 1)).toThrow(/not a function exported from a module built by `ppp2p build`.*ppp2p build <dir> --out <dir>/);
  });

  it('refuses arguments that are not plain data, naming the argument', () => {
    expect(() => vc.spawn(fx.add, 1, (() => 2) as unknown as number)).toThrow(/add\(\) argument 2 is a function/);
  });

  it('ships the code of two virtual computers that spawn the same function once', async () => {
    const fresh = await loadFixtures('ship-once');
    const before = await Promise.all(swarm.peers.map((p) => swarm.status(p)));
    const runEverywhere = async (v: VirtualComputer): Promise<void> => {
      const pids = await Promise.all([0, 1, 2].map(() => v.spawn(fresh.whereAmI, 200).result));
      expect(new Set(pids.map((r) => r.pid)).size).toBe(3);
    };
    await runEverywhere(vc);
    const second = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 3 });
    try {
      const middle = await Promise.all(swarm.peers.map((p) => swarm.status(p)));
      await runEverywhere(second);
      const after = await Promise.all(swarm.peers.map((p) => swarm.status(p)));
      // First virtual computer: one upload to the controller, one fetch by each other worker.
      expect(middle[0]!.assemblies.uploaded - before[0]!.assemblies.uploaded).toBe(1);
      expect(middle[0]!.assemblies.served - before[0]!.assemblies.served).toBe(2);
      for (const i of [1, 2]) expect(middle[i]!.assemblies.fetched - before[i]!.assemblies.fetched).toBe(1);
      // Second virtual computer, same code: nothing crosses the wire.
      for (let i = 0; i < 3; i++) expect(after[i]!.assemblies).toEqual(middle[i]!.assemblies);
    } finally {
      await second.close();
    }
  });

  it('fails create with the refusals when too few peers have a free slot', async () => {
    const hogs = [0, 1, 2].map(() => vc.spawn(fx.forever));
    await eventually(() => hogs.every((t) => t.progressCount > 0));
    const err = await VirtualComputer.create({
      controller: swarm.peers[0]!.url,
      swarmKey: swarm.key,
      workers: 2,
      minWorkers: 1,
      enrolTimeoutMs: 600,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await Promise.all(hogs.map((t) => t.cancel()));
    expect(err).toBeInstanceOf(EnrolmentError);
    // The controller's own message, not the request's failure line around it; the RemoteError is the cause.
    expect(err).toMatchObject({ code: 'ERR_ENROLMENT', cause: { name: 'RemoteError', code: 'ERR_ENROLMENT', request: 'vc-create' } });
    const message = (err as Error).message;
    expect(message).not.toMatch(/^'vc-create' failed/);
    expect(message).toBe((err as { cause: RemoteError }).cause.remoteMessage);
    expect(message).toMatch(/enrolled 0 of the 2 requested/);
    expect(message).toMatch(/knows 2 other live peer\(s\)/);
    expect(message.match(/no free slots \(1 of 1 busy\)/g)).toHaveLength(3);
  });

  it('refuses an application holding the wrong swarm key', async () => {
    const err = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: randomBytes(32), workers: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HandshakeError);
    expect((err as HandshakeError).code).toBe('ERR_AUTH_FAILED');
  });

  it('`ppp2p status --json` lists peers, virtual computers and their threads', async () => {
    const t = vc.spawn(fx.forever);
    await eventually(() => t.progressCount > 0);
    const env = { ...process.env, PPP2P_SWARM_KEY: swarm.key.toString('base64') };
    const url = swarm.peers[0]!.url;
    // The controller's operator: its data dir holds the admin credential that shows every virtual computer.
    const { stdout } = await promisify(execFile)(NODE, cliArgs('status', '--controller', url, '--data-dir', peerDataDirs.get(url)!, '--json'), { env });
    // Anyone else with the swarm key sees no application's virtual computers.
    const { stdout: outsider } = await promisify(execFile)(NODE, cliArgs('status', '--controller', url, '--json'), { env });
    await t.cancel();
    expect((JSON.parse(outsider) as StatusReport).virtualComputers).toEqual([]);
    const report = JSON.parse(stdout) as StatusReport;
    expect(report.self).toBe(swarm.peers[0]!.peerId);
    expect(report.peers.filter((p) => p.state === 'alive').map((p) => p.id).sort()).toEqual(swarm.peers.map((p) => p.peerId).sort());
    for (const p of report.peers) expect(p).toMatchObject({ slots: 1, url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/) });
    const mine = report.virtualComputers.find((v) => v.vc === vc.id)!;
    expect(mine.workers).toHaveLength(3);
    expect(mine.threads.find((x) => x.thread === t.id)).toMatchObject({ fn: 'forever', state: 'running', host: t.host });
    expect(mine.finished.done).toBeGreaterThan(10);
  });
});

describe('three daemons with a 64 MB heap limit per thread', () => {
  const swarm = new TestSwarm();
  let fx: typeof Threads;

  beforeAll(async () => {
    const [, mod] = await Promise.all([swarm.start(3, { memoryLimitMb: 64, sandbox: 'off' }), loadFixtures('quota')]);
    fx = mod;
  });
  afterAll(() => swarm.stop());

  it('fails a thread that exceeds the heap limit, and its peer runs the next thread', async () => {
    const vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 1 });
    try {
      const err = await vc.spawn(fx.hog).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ResourceLimitError);
      expect(err).toMatchObject({ name: 'ResourceLimitError', limit: 'heap', thread: expect.any(Number) as number });
      expect((err as Error).message).toMatch(/heap limit of 64 MB/);
      expect(await vc.spawn(fx.add, 20, 22).result).toBe(42);
    } finally {
      await vc.close();
    }
  });

  it('restarts the threads of a worker killed with SIGKILL elsewhere and enrols a replacement', async () => {
    const vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 2, enrolTimeoutMs: 3000 });
    try {
      const enrolled = new Set(vc.workers.map((w) => w.id));
      expect(enrolled.size).toBe(2);
      const threads = [vc.spawn(fx.whereAmI, 1500), vc.spawn(fx.whereAmI, 1500)];
      await eventually(() => threads.every((t) => t.state === 'running'));
      // Kill a worker that is not the application's controller.
      const victimThread = threads.find((t) => t.host !== swarm.peers[0]!.peerId)!;
      const victim = swarm.peers.find((p) => p.peerId === victimThread.host)!;
      const spare = swarm.peers.find((p) => !enrolled.has(p.peerId))!;
      const restarts: string[] = [];
      victimThread.on('started', (host) => restarts.push(host));
      victim.child.kill('SIGKILL');
      const results = await Promise.all(threads.map((t) => t.result));
      expect(restarts).toEqual([spare.peerId]);
      expect(results.find((r) => r.id === victimThread.id)!.pid).toBe(spare.pid);
      const status = await swarm.status(swarm.peers[0]!);
      const mine = status.vcs.find((v) => v.vc === vc.id)!;
      expect(new Set(mine.workers.map((w) => w.id))).toEqual(new Set([...enrolled].filter((id) => id !== victim.peerId).concat(spare.peerId)));
      expect(mine.threads.find((t) => t.thread === victimThread.id)?.placements).toBe(2);
    } finally {
      await vc.close();
    }
  });
});
