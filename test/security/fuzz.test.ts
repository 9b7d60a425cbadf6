/**
 * A protocol fuzzer over the authenticated surface (issue 15, item 6): schema-valid messages of every type of the
 * protocol (core and virtual-computer layer; the handshake's are covered by test/protocol/fuzz.test.ts), with field
 * values biased toward the live state of a real virtual computer (its id, its owner, its thread, its placement's
 * epoch, its hosts and holders) and random ones besides, sent by malicious but authenticated peers and clients
 * (valid identities of their own: helpers.ts) to the owner's controller and to every worker, while a real
 * checkpointing job runs.
 *
 * Afterwards: no daemon process exited, none logged an error, every one answers `members` and `echo`, and the
 * application got exactly the result and the progress of an undisturbed run.
 *
 * The frames are one fast-check sample from a seed: FUZZ_SEED=<seed> FUZZ_RUNS=<n> replays the same sequence
 * (the daemons' timing differs from run to run, the frames do not). The seed is printed with the frame count.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrunch, observe, referenceRun, type CrunchModule } from '../fault-tolerance/helpers.ts';
import type { Daemon } from '../daemon/helpers.ts';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { coreMessages, validateMessage, type Message } from '../../src/protocol/messages.ts';
import { virtualComputerMessages } from '../../src/protocol/virtual-computer-messages.ts';
import { encodeMsgBatch } from '../../src/protocol/msg-batch.ts';
import { encodeValue } from '../../src/runtime/snapshot-codec.ts';
import { sleep } from './helpers.ts';
import { LiveSwarm } from './live-swarm.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** The job: ~300 rounds of at least 40 ms, checkpointing every 150 ms: it runs while the frames go out. */
const JOB: [number, number, number] = [300, 20_000, 40];

let job: CrunchModule;
let live: LiveSwarm;

beforeAll(async () => {
  job = await buildCrunch();
  live = await LiveSwarm.start(3);
}, 120_000);

afterAll(async () => {
  await live?.stop();
});

/** What the generators aim at: the live state of the virtual computer, known once its thread runs. */
interface Target {
  vc: string;
  owner: string;
  peers: string[];
  urls: string[];
  host: string;
  epoch: number;
  n: number;
  attackers: string[];
}

/** The generators of every message type, biased toward `x`. Request ids are random: replies go nowhere. */
function messageArbitraries(x: Target): Record<string, fc.Arbitrary<Record<string, unknown>>> {
  const pick = <T,>(live: fc.Arbitrary<T>, random: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 3, arbitrary: live }, { weight: 1, arbitrary: random });
  const id = fc.nat();
  const re = fc.nat({ max: 1000 });
  const vc = pick(fc.constant(x.vc), fc.string({ maxLength: 64 }));
  const peerId = pick(fc.constantFrom(x.owner, x.host, ...x.peers, ...x.attackers), fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/));
  const url = pick(fc.constantFrom(...x.urls), fc.integer({ min: 1, max: 65_535 }).map((p) => `ws://127.0.0.1:${p}`));
  const thread = pick(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 2 ** 40 }));
  const epoch = pick(fc.constantFrom(x.epoch, x.epoch + 1, Math.max(0, x.epoch - 1), 0), fc.integer({ min: 0, max: 2 ** 40 }));
  const seq = pick(fc.nat({ max: 1000 }), fc.integer({ min: 0, max: 2 ** 48 }));
  const n = pick(fc.constantFrom(x.n, x.n + 1, 0), fc.integer({ min: 0, max: 2 ** 48 }));
  const int = fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.maxSafeInteger());
  const uint = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
  const token = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const bytes = fc.uint8Array({ maxLength: 256 });
  const plain = fc.jsonValue({ maxDepth: 2 });
  const value = fc.option(plain, { nil: undefined });
  const msgValue = fc.oneof(plain.map((v) => encodeValue(v)), bytes);
  const str = (max: number) => fc.string({ maxLength: Math.min(max, 80) });
  const hash = pick(fc.stringMatching(/^[0-9a-f]{64}$/), str(64));
  const holders = fc.array(peerId, { maxLength: 4 });
  const state = fc.constantFrom('queued', 'running', 'done', 'failed', 'cancelled');
  const cursor = fc.dictionary(peerId, int, { maxKeys: 3 });
  const thrown = { name: str(256), message: str(1000), stack: str(1000) };
  const member = fc.record({ id: peerId, url, inc: fc.nat({ max: 2 ** 20 }), state: fc.constantFrom('alive', 'suspect', 'dead'), slots: fc.nat({ max: 4 }), free: fc.nat({ max: 4 }), speed: fc.double({ noNaN: true, noDefaultInfinity: true }), mv: fc.nat({ max: 1000 }) });
  const g = fc.option(fc.array(member, { maxLength: 3 }), { nil: undefined });
  const version = { epoch, n };
  const spec = { thread, assembly: hash, fn: pick(fc.constant('crunch'), str(256)), args: fc.array(plain, { maxLength: 4 }) };
  const batch = fc.array(fc.record({ seq: fc.nat({ max: 100 }), prev: fc.integer({ min: -1, max: 100 }), bytes: msgValue }), { maxLength: 4 }).map((items) => encodeMsgBatch(items));
  const peerInfo = fc.record({ id: peerId, url, slots: uint, freeSlots: uint, speed: fc.double({ noNaN: true, noDefaultInfinity: true }), lastHeard: fc.nat(), state: fc.constantFrom('alive', 'suspect', 'dead'), incarnation: uint });
  const checkpointStatus = fc.record({ ...version, seq, bytes: uint, holders, ageMs: uint, transferMs: fc.nat(), encodeMs: fc.nat() });
  const threadStatus = fc.record({ thread, fn: str(256), state, host: fc.option(peerId, { nil: undefined }), progress: uint, placements: uint, checkpoint: fc.option(checkpointStatus, { nil: undefined }) });
  const opt = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const r = fc.record;
  return {
    // ── core ──
    error: r({ re, code: str(128), message: str(1000) }),
    join: r({ id, member }),
    'join-reply': r({ re, members: fc.array(member, { maxLength: 3 }) }),
    ping: r({ id, g }),
    'ping-req': r({ id, target: peerId, g }),
    ack: r({ re, g }),
    nack: r({ re }),
    gossip: r({ g: fc.array(member, { maxLength: 4 }) }),
    echo: r({ id, value: plain }),
    'echo-reply': r({ re, value: plain }),
    members: r({ id }),
    'members-reply': r({ re, self: peerId, peers: fc.array(peerInfo, { maxLength: 3 }) }),
    // ── application → controller ──
    'vc-create': r({ id, workers: fc.nat({ max: 4 }), minWorkers: fc.nat({ max: 4 }), enrolTimeoutMs: fc.nat({ max: 500 }), checkpointIntervalMs: opt(fc.nat({ max: 1000 })), replicas: opt(fc.nat({ max: 3 })), mailboxSize: opt(fc.nat({ max: 1000 })), lockLeaseMs: opt(fc.nat({ max: 5000 })) }),
    'vc-create-reply': r({ re, vc, workers: fc.array(r({ id: peerId, slots: uint, speed: fc.nat() }), { maxLength: 3 }) }),
    'vc-close': r({ id, vc }),
    'vc-close-reply': r({ re }),
    'assembly-offer': r({ id, hash }),
    'assembly-offer-reply': r({ re, have: fc.boolean() }),
    'assembly-put': r({ id, hash, code: bytes }),
    'assembly-put-reply': r({ re }),
    spawn: r({ vc, count: thread, threads: fc.array(r(spec), { maxLength: 3 }) }),
    cancel: r({ id, vc, thread }),
    'cancel-reply': r({ re, cancelled: fc.boolean() }),
    // ── controller → application ──
    'thread-started': r({ vc, thread, host: peerId }),
    'thread-progress': r({ vc, thread, seq, value }),
    'thread-result': r({ vc, thread, value }),
    'thread-error': r({ vc, thread, ...thrown }),
    // ── deployer ⇄ worker ──
    enrol: r({ id, vc, owner: peerId }),
    'enrol-reply': r({ re, accepted: fc.boolean(), reason: opt(str(1024)), slots: uint, free: uint, speed: fc.nat() }),
    dismiss: r({ vc }),
    exec: r({ vc, epoch, count: thread, ...spec, holders: opt(holders), resume: opt(r({ ...version, holders })), checkpointIntervalMs: opt(fc.nat({ max: 1000 })), mailboxSize: opt(fc.nat({ max: 1000 })), token }),
    'exec-cancel': r({ id, vc, thread, token }),
    'exec-cancel-reply': r({ re, found: fc.boolean() }),
    'exec-progress': r({ vc, thread, epoch, seq, value, token }),
    'exec-result': r({ vc, thread, epoch, value, others: fc.nat({ max: 1_000_000 }), token }),
    'exec-error': r({ vc, thread, epoch, ...thrown, code: opt(str(128)), others: fc.nat({ max: 1_000_000 }), token }),
    'assembly-fetch': r({ id, hash }),
    'assembly-fetch-reply': r({ re, code: bytes }),
    'vc-status': r({ id, admin: opt(str(256)) }),
    'vc-status-reply': r({ re, self: peerId, slots: uint, free: uint, vcs: fc.array(r({ vc, owner: peerId, quota: uint, workers: fc.constant([]), threads: fc.array(threadStatus, { maxLength: 2 }), finished: r({ done: uint, failed: uint, cancelled: uint }), queued: uint }), { maxLength: 2 }), executing: fc.array(r({ vc, owner: peerId, thread, fn: str(256), since: fc.nat() }), { maxLength: 2 }), assemblies: r({ held: uint, uploaded: uint, fetched: uint, served: uint }) }),
    // ── checkpoints and recovery ──
    'exec-holders': r({ vc, thread, epoch, holders, snapshot: fc.boolean(), token }),
    'exec-list': r({ id, vc }),
    'exec-list-reply': r({ re, placements: fc.array(r({ thread, epoch }), { maxLength: 3 }) }),
    'exec-fence': r({ vc, thread, epoch }),
    'exec-checkpoint': r({ vc, thread, ...version, seq, bytes: uint, holders, site: str(1024), encodeMs: fc.nat(), transferMs: fc.nat(), consumed: opt(cursor), token }),
    'exec-handback': r({ vc, thread, epoch, reason: str(256), token }),
    'worker-leaving': r({ vc }),
    'checkpoint-put': r({ id, vc, owner: peerId, thread, ...version, snapshot: bytes }),
    'checkpoint-put-reply': r({ re }),
    'checkpoint-fetch': r({ id, vc, thread, ...version }),
    'checkpoint-fetch-reply': r({ re, snapshot: bytes }),
    'checkpoint-replicate': r({ id, vc, thread, ...version, to: peerId }),
    'checkpoint-replicate-reply': r({ re }),
    'checkpoint-drop': r({ vc, thread, below: opt(r(version)) }),
    'checkpoint-grant': r({ vc, thread, epoch, host: peerId }),
    'checkpoint-release': r({ vc }),
    'thread-migrated': r({ vc, thread, from: peerId, to: peerId, reason: str(256), fromCheckpoint: fc.boolean() }),
    // ── messaging ──
    'msg-deliver': r({ vc, from: thread, to: thread, epoch, round: seq, origin: peerId, dest: peerId, msgs: batch }),
    'msg-ack': r({ vc, from: thread, to: thread, epoch, upTo: int, consumed: int, dest: peerId }),
    'msg-nack': r({ vc, from: thread, to: thread, epoch, seq, round: seq, reason: fc.constantFrom('full', 'gap', 'not-here'), expect: int, dest: peerId }),
    'msg-credit': r({ vc, from: thread, to: thread, dest: peerId }),
    'msg-residual': r({ vc, from: thread, entries: fc.array(r({ to: thread, seq, prev: int, value: msgValue }), { maxLength: 3 }), acked: cursor, epoch, token }),
    'thread-placed': r({ vc, thread, epoch, state, host: opt(peerId) }),
    'thread-locate': r({ id, vc, thread }),
    'thread-locate-reply': r({ re, epoch, state, host: opt(peerId) }),
    'msg-trim': r({ vc, thread, cursor }),
    // ── globals ──
    'globals-op': r({ id, vc, thread, epoch, seq, op: fc.constantFrom('get', 'set', 'compareAndSet', 'lock', 'unlock'), name: pick(fc.constantFrom('counter', 'secret'), str(1024)), value: opt(msgValue), expected: opt(msgValue), write: opt(fc.boolean()), token }),
    'globals-op-reply': r({ re, value: opt(msgValue), ok: opt(fc.boolean()) }),
    'globals-get': r({ id, vc, name: str(1024) }),
    'globals-get-reply': r({ re, value: opt(msgValue) }),
    'globals-set': r({ id, vc, name: str(1024), value: opt(msgValue) }),
    'globals-set-reply': r({ re }),
    'globals-watch': r({ id, vc, name: str(1024), on: fc.boolean() }),
    'globals-watch-reply': r({ re }),
    'globals-changed': r({ vc, name: str(1024), value: opt(msgValue) }),
  };
}

/** One frame: who sends it (a peer or a client), to which daemon (index), and the message. */
interface Shot {
  role: 'peer' | 'client';
  to: number;
  msg: Message;
}

function shots(x: Target, daemons: number): fc.Arbitrary<Shot> {
  const arbs = messageArbitraries(x);
  const message = fc.oneof(
    ...Object.entries(arbs).map(([t, a]) =>
      a.map((fields) => {
        const clean = Object.fromEntries(Object.entries({ ...fields, t }).filter(([, v]) => v !== undefined));
        return validateMessage(clean);
      }),
    ),
  );
  return fc.record({ role: fc.constantFrom<'peer' | 'client'>('peer', 'peer', 'peer', 'client'), to: fc.nat({ max: daemons - 1 }), msg: message });
}

describe('the protocol fuzzer (malicious authenticated peers and clients, a real job running)', () => {
  it('has a generator for every message type a peer or a client can send', () => {
    const x: Target = { vc: 'v', owner: 'o', peers: ['p'], urls: ['ws://127.0.0.1:1'], host: 'h', epoch: 1, n: 1, attackers: ['m'] };
    const types = [...Object.keys(coreMessages), ...Object.keys(virtualComputerMessages)].sort();
    expect(Object.keys(messageArbitraries(x)).sort()).toEqual(types);
    // Every generated message passes the schema (validateMessage throws otherwise).
    expect(fc.sample(shots(x, 2), { numRuns: 2000, seed: 1 })).toHaveLength(2000);
  });

  it(
    'no daemon exits or errs, all keep serving, and the real thread gets its undisturbed result and progress exactly once',
    async () => {
      const expected = await referenceRun(0, [JOB[0], JOB[1]]);
      const vc = await live.create({ workers: 2, checkpoint: { intervalMs: 150 } });
      try {
        const t = vc.spawn(job.crunch, ...JOB);
        const seen = observe(t);
        let finished = false;
        void t.result.then(
          () => (finished = true),
          () => (finished = true),
        );
        const placed = await live.runningWithCheckpoint(vc.id, 0);
        const daemons: Daemon[] = live.daemons;
        // One connection per (role, daemon), reopened when the daemon closes it (a type the role may not send, 4403).
        const conns = new Map<string, Connection>();
        let reopened = 0;
        // The attackers: one peer identity and one client identity of their own (valid, authenticated, malicious).
        const identities = { peer: generateIdentity(), client: generateIdentity() };
        const attackers = [identities.peer.id, identities.client.id];
        const open = async (role: 'peer' | 'client', i: number): Promise<Connection> => {
          const key = `${role}:${i}`;
          const c = conns.get(key);
          if (c?.isOpen === true) return c;
          if (c !== undefined) reopened++;
          const fresh = await connect(daemons[i]!.url, { swarmKey: live.key, role, identity: identities[role], log: createLogger({ level: 'silent' }) });
          conns.set(key, fresh);
          return fresh;
        };
        const target: Target = {
          vc: vc.id,
          owner: live.controller.peerId,
          peers: live.workers.map((w) => w.peerId),
          urls: daemons.map((d) => d.url),
          host: placed.host,
          epoch: placed.epoch,
          n: placed.n,
          attackers,
        };
        const frames = fc.sample(shots(target, daemons.length), { numRuns: RUNS, seed: SEED });
        const started = performance.now();
        let sent = 0;
        let whileRunning = 0;
        const byType = new Map<string, number>();
        for (const [i, s] of frames.entries()) {
          const conn = await open(s.role, s.to);
          try {
            conn.send(s.msg);
            sent++;
            if (!finished) whileRunning++;
            byType.set(s.msg.t, (byType.get(s.msg.t) ?? 0) + 1);
          } catch {
            // Closed by the daemon since: reopened at the next frame.
          }
          // Let the daemons read: a burst of 25 frames, then a short pause.
          if (i % 25 === 24) await sleep(5);
        }
        const ms = performance.now() - started;
        await sleep(500);
        for (const c of conns.values()) c.close();
        console.log(
          `[fuzz] seed ${SEED}: ${sent} of ${RUNS} frames sent in ${Math.round(ms)} ms (${whileRunning} while the thread ran), ${byType.size} message types, ${reopened} connections closed by the daemons and reopened; replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`,
        );
        const where = `(replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`;
        expect(live.exited(), `daemons exited ${where}`).toEqual([]);
        const result = await t.result;
        expect(result, `the thread's result ${where}`).toEqual(expected.result);
        expect(seen.progress, `the thread's progress ${where}`).toEqual(expected.progress);
        const views = await live.probe();
        expect(views.size).toBe(daemons.length);
        expect(live.exited(), `daemons exited ${where}`).toEqual([]);
        expect(live.errors(), `error lines ${where}`).toEqual([]);
      } finally {
        await vc.close();
      }
    },
    180_000,
  );
});
