/**
 * Real daemons (`ppp2p peer`) on loopback: joining, failure detection under SIGKILL, refutation,
 * refusal of wrong keys and other protocol versions, clean stops.
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { connect } from '../../src/protocol/connection.ts';
import { HandshakeError } from '../../src/protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/codec.ts';
import type { MemberRecord, PeerInfo } from '../../src/protocol/messages.ts';
import { NODE, cliArgs, Swarm, waitFor, type Daemon } from './helpers.ts';
import { join } from 'node:path';
import { VirtualComputer } from '../../src/client/index.ts';
import { buildFixtures } from '../client/helpers.ts';
import type * as Threads from '../client/fixtures/threads.ts';

let swarm: Swarm;

async function threeDaemons(): Promise<[Daemon, Daemon, Daemon]> {
  swarm = new Swarm();
  const seed = await swarm.start();
  const [b, c] = await Promise.all([swarm.start(['--join', seed.url]), swarm.start(['--join', seed.url])]);
  return [seed, b, c];
}

const alive = (peers: PeerInfo[]): string[] => peers.filter((p) => p.state === 'alive').map((p) => p.id).sort();

describe('a swarm of three daemons started through one seed', () => {
  let a: Daemon, b: Daemon, c: Daemon;
  let shared: Swarm;
  beforeAll(async () => {
    [a, b, c] = await threeDaemons();
    shared = swarm;
  });
  afterAll(async () => {
    await shared.cleanup();
  });

  it('three daemons find each other through one seed', async () => {
    const ids = [a, b, c].map((d) => d.peerId).sort();
    for (const d of [a, b, c]) {
      await waitFor(async () => alive(await shared.members(d)).join() === ids.join(), 5000, `${d.peerId} to see all three`);
    }
    const view = await shared.members(b);
    const seedInfo = view.find((p) => p.id === a.peerId)!;
    expect(seedInfo).toMatchObject({ url: a.url, slots: 2, freeSlots: 2, state: 'alive', incarnation: 0 });
    expect(seedInfo.speed).toBeGreaterThan(0);
  });

  it('a suspected daemon that is alive refutes the suspicion and is never declared dead', async () => {
    const ids = [a, b, c].map((d) => d.peerId).sort().join();
    for (const d of [a, b, c]) await waitFor(async () => alive(await shared.members(d)).join() === ids, 5000, 'convergence');
    const before = (await shared.members(a)).find((p) => p.id === c.peerId)!;
    // An authenticated peer tells A that C is suspect at C's current incarnation (what a probe that timed out would do).
    const accuserId = generateIdentity();
    const accuser = await shared.client(a, 'peer', accuserId);
    const rumour: MemberRecord = { id: c.peerId, url: c.url, inc: before.incarnation, state: 'suspect', slots: before.slots, free: before.freeSlots, speed: before.speed, mv: 0 };
    accuser.send({ t: 'gossip', g: [rumour] });
    await waitFor(() => a.stderr().includes(`peer ${c.peerId} suspected by ${accuserId.id}`), 2000, 'A to suspect C');
    // C hears of it (A pushes a suspicion to the suspect itself), raises its incarnation, and everyone clears it.
    await waitFor(() => c.stderr().includes('refuting'), 2000, 'C to refute');
    const deadline = performance.now() + 1500; // twice the suspicion timeout
    while (performance.now() < deadline) {
      for (const d of [a, b]) {
        const info = (await shared.members(d)).find((p) => p.id === c.peerId)!;
        expect(info.state).not.toBe('dead');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const d of [a, b]) {
      const info = (await shared.members(d)).find((p) => p.id === c.peerId)!;
      expect(info).toMatchObject({ state: 'alive' });
      expect(info.incarnation).toBeGreaterThan(before.incarnation);
    }
  });

  it('refuses a client with a wrong swarm key: the client sees close code 4401, the daemon logs one line', async () => {
    const err = await connect(b.url, { swarmKey: Buffer.alloc(32, 7), role: 'client' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect(err).toMatchObject({ code: 'ERR_AUTH_FAILED', closeCode: 4401, closeReason: 'authentication failed: wrong swarm key' });
    await waitFor(() => b.stderr().includes('ERR_AUTH_FAILED'), 2000, 'the refusal log line');
    expect(b.stderr().split('\n').filter((l) => l.includes('ERR_AUTH_FAILED'))).toHaveLength(1);
    // The daemon is unaffected.
    expect(alive(await shared.members(b))).toHaveLength(3);
  });

  it('refuses another protocol version with a close reason naming both versions', async () => {
    const err = await connect(b.url, { swarmKey: shared.key, role: 'client', protocolVersion: PROTOCOL_VERSION + 41 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect(err).toMatchObject({ code: 'ERR_VERSION_MISMATCH', closeCode: 4426 });
    expect((err as HandshakeError).closeReason).toBe(
      `protocol version mismatch: this side speaks version ${PROTOCOL_VERSION}, the other side version ${PROTOCOL_VERSION + 41}`,
    );
    await waitFor(() => b.stderr().includes('ERR_VERSION_MISMATCH'), 2000, 'the refusal log line');
  });
});

describe('daemons that are killed, stopped or misconfigured', () => {
  afterEach(async () => {
    await swarm.cleanup();
  });

  it('a daemon killed with SIGKILL is declared dead by the two others within 1.5 s', async () => {
    const [a, b, c] = await threeDaemons();
    const ids = [a, b, c].map((d) => d.peerId).sort().join();
    for (const d of [a, b]) await waitFor(async () => alive(await swarm.members(d)).join() === ids, 5000, 'convergence');
    // Polling through one open client connection per observer keeps the measurement cheap.
    const observers = await Promise.all([a, b].map((d) => swarm.client(d)));
    const stateOfC = async (i: number): Promise<string | undefined> => {
      const r = await observers[i]!.request({ t: 'members' }, 2000);
      return r.t === 'members-reply' ? r.peers.find((p) => p.id === c.peerId)?.state : undefined;
    };
    await new Promise((r) => setTimeout(r, 500)); // let probing settle into its idle rhythm
    const killedAt = performance.now();
    c.proc.kill('SIGKILL');
    const times = await Promise.all(
      [0, 1].map(async (i) => {
        await waitFor(async () => (await stateOfC(i)) === 'dead', 5000, `observer ${i} to declare the killed daemon dead`, 10);
        return Math.round(performance.now() - killedAt);
      }),
    );
    console.log(`[detection] SIGKILLed daemon declared dead after ${times.join(' ms and ')} ms`);
    for (const t of times) expect(t).toBeLessThan(3000);
    expect(a.stderr()).toMatch(new RegExp(`peer ${c.peerId} (declared dead|suspected)`));
  });

  it('stops cleanly on SIGTERM (exit code 0) and the others see it leave at once', async () => {
    swarm = new Swarm();
    const a = await swarm.start();
    const b = await swarm.start(['--join', a.url]);
    await waitFor(async () => alive(await swarm.members(a)).length === 2, 5000, 'join');
    const t0 = performance.now();
    b.proc.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    await waitFor(async () => (await swarm.members(a)).find((p) => p.id === b.peerId)?.state === 'dead', 2000, 'A to see B leave');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(a.stderr()).toContain(`peer ${b.peerId} left`);
  });

  it('a daemon started with --slots 0 owns virtual computers but runs no threads itself', async () => {
    swarm = new Swarm();
    const owner = await swarm.start(['--slots', '0']);
    // Unsandboxed, so that a thread's process.pid names the daemon that ran it.
    const worker = await swarm.start(['--slots', '1', '--join', owner.url, '--sandbox', 'off', '--trusted-swarm']);
    await waitFor(async () => alive(await swarm.members(owner)).length === 2, 5000, 'join');
    expect((await swarm.members(owner)).find((p) => p.id === owner.peerId)?.slots).toBe(0);
    const fx = (await import(join(await buildFixtures('slots-zero'), 'threads.js'))) as typeof Threads;
    const vc = await VirtualComputer.create({ controller: owner.url, swarmKey: swarm.key, workers: 1, enrolTimeoutMs: 5000 });
    try {
      expect(vc.workers.map((w) => w.id)).toEqual([worker.peerId]);
      const where = await Promise.all([0, 1, 2].map(() => vc.spawn(fx.whereAmI, 0).result));
      expect(where.map((w) => w.pid)).toEqual([worker.proc.pid, worker.proc.pid, worker.proc.pid]);
    } finally {
      await vc.close();
    }
  });

  it('refuses to start without a swarm key and says how to make one', async () => {
    swarm = new Swarm();
    const env = { ...process.env };
    delete env.PPP2P_SWARM_KEY;
    const proc = spawn(NODE, cliArgs('peer', '--port', '0'), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('ppp2p keygen > swarm.key');
  });

  it('takes the swarm key from PPP2P_SWARM_KEY when no key file is given', async () => {
    swarm = new Swarm();
    const proc = spawn(NODE, cliArgs('peer', '--port', '0', '--log-level', 'warn'), {
      env: { ...process.env, PPP2P_SWARM_KEY: swarm.key.toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((r) => proc.stdout.once('data', (d: Buffer) => r(d.toString())));
    const { url, event } = JSON.parse(line) as { url: string; event: string };
    expect(event).toBe('listening');
    const conn = await connect(url, { swarmKey: swarm.key, role: 'client' });
    conn.close();
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
  });
});

describe('a frozen daemon (SIGSTOP, sockets stay open)', () => {
  afterEach(async () => {
    await swarm.cleanup();
  });

  it('is found by probing alone, declared dead, and comes back with a higher incarnation after SIGCONT', async () => {
    const [a, b, c] = await threeDaemons();
    const ids = [a, b, c].map((d) => d.peerId).sort().join();
    for (const d of [a, b]) await waitFor(async () => alive(await swarm.members(d)).join() === ids, 5000, 'convergence');
    const infoOfC = async (d: Daemon): Promise<PeerInfo | undefined> => (await swarm.members(d)).find((p) => p.id === c.peerId);
    const frozenAt = performance.now();
    c.proc.kill('SIGSTOP');
    try {
      const times = await Promise.all(
        [a, b].map(async (d) => {
          await waitFor(async () => (await infoOfC(d))?.state === 'dead', 6000, 'the frozen daemon to be declared dead');
          return Math.round(performance.now() - frozenAt);
        }),
      );
      console.log(`[detection] frozen daemon (no socket close) declared dead after ${times.join(' ms and ')} ms`);
      for (const t of times) expect(t).toBeLessThan(4000);
    } finally {
      c.proc.kill('SIGCONT');
    }
    for (const d of [a, b]) {
      await waitFor(async () => (await infoOfC(d))?.state === 'alive', 5000, 'the resumed daemon to be alive again');
      expect((await infoOfC(d))!.incarnation).toBeGreaterThan(0);
    }
    expect(c.stderr()).toMatch(/refuting: .* says this peer is (suspect|dead)/);
  });
});

describe('ppp2p keygen and flag checks', () => {
  const run = (args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve) => {
      const proc = spawn(NODE, cliArgs(...args), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      proc.once('exit', (code) => resolve({ code, out, err }));
    });

  it('keygen prints the base64 of 32 fresh random bytes; bad flags are usage errors', async () => {
    const [k1, k2, bad] = await Promise.all([run(['keygen']), run(['keygen']), run(['peer', '--join', 'http://x:1', '--swarm-key-file', '/nonexistent'])]);
    for (const k of [k1, k2]) {
      expect(k.code).toBe(0);
      expect(Buffer.from(k.out.trim(), 'base64')).toHaveLength(32);
    }
    expect(k1.out).not.toBe(k2.out);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--swarm-key-file /nonexistent: no such file');
  });
});
