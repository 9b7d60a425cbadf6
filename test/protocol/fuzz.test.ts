/**
 * Protocol fuzzing against a live daemon process (fast-check): random bytes, truncated valid frames, valid
 * msgpack of the wrong shape, and oversized frames, before and after authentication. Each bad frame must
 * close that connection with a code; afterwards the daemon still answers an authenticated request and its
 * membership is intact.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode } from '../../src/protocol/errors.ts';
import { encodeFrame } from '../../src/protocol/codec.ts';
import { encodeMsgBatch } from '../../src/protocol/msg-batch.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { initiateHandshake } from '../../src/protocol/handshake.ts';
import { coreMessages, handshakeMessages, type Message } from '../../src/protocol/messages.ts';
import { Swarm, waitFor, type Daemon } from '../daemon/helpers.ts';

const MAX_FRAME = 64 * 1024;
const packr = new Packr({ useRecords: false, moreTypes: false });
let swarm: Swarm;
let daemon: Daemon;
let other: Daemon;

beforeAll(async () => {
  swarm = new Swarm();
  daemon = await swarm.start(['--max-frame-bytes', String(MAX_FRAME), '--log-level', 'warn']);
  other = await swarm.start(['--join', daemon.url, '--log-level', 'warn']);
  await waitFor(async () => (await swarm.members(daemon)).filter((p) => p.state === 'alive').length === 2, 5000, 'join');
});
afterAll(async () => {
  // No handler blew up and nothing went unhandled while being fuzzed.
  expect(daemon.stderr()).not.toMatch(/ ERROR |unhandled/);
  await swarm.cleanup();
});

interface Outcome {
  /** Close code seen by the fuzzing side, or undefined if the connection stayed open. */
  code: number | undefined;
  reason: string;
  replies: number;
}

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(daemon.url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    ws.on('error', () => {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function authenticated(): Promise<WebSocket> {
  const ws = await open();
  const channel = await initiateHandshake(ws, { swarmKey: swarm.key, identity: generateIdentity(), role: 'client' }, (r) => r.channel);
  // Binary frames are sealed with the session key, so they reach the decoder (an unsealed one fails authentication).
  const send = ws.send.bind(ws);
  ws.send = ((data: Uint8Array | string, ...rest: unknown[]) =>
    (send as (...a: unknown[]) => void)(typeof data === 'string' || channel === undefined ? data : channel.seal(data), ...rest)) as typeof ws.send;
  return ws;
}

/** Sends `frames` and waits until the daemon closes the socket or `settleMs` passes. */
function send(ws: WebSocket, frames: (Uint8Array | string)[], settleMs = 300): Promise<Outcome> {
  return new Promise((resolve) => {
    let replies = 0;
    ws.on('message', () => replies++);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ code: undefined, reason: '', replies });
    }, settleMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), replies });
    });
    for (const f of frames) ws.send(f, { binary: typeof f !== 'string' });
  });
}

const BAD_FRAME_CODES = [CloseCode.PROTOCOL_ERROR, CloseCode.FRAME_TOO_LARGE, CloseCode.FORBIDDEN];

const messageTypes = [...Object.keys(handshakeMessages), ...Object.keys(coreMessages)];
/** A valid-looking frame: a known type with random (usually wrong) fields. */
const wrongShape = fc
  .record({
    t: fc.oneof(fc.constantFrom(...messageTypes), fc.string({ maxLength: 12 })),
    fields: fc.dictionary(fc.constantFrom('id', 're', 'g', 'v', 'member', 'members', 'target', 'peerId', 'nonce', 'proof', 'role', 'code'), fc.anything({ maxDepth: 3 }), { maxKeys: 4 }),
  })
  .map(({ t, fields }) => packr.pack({ ...fields, t }) as Uint8Array);
const anyValue = fc.anything({ maxDepth: 4, withTypedArray: false }).map((v) => packr.pack(v) as Uint8Array);
const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 512 });
const validMembers: Message = { t: 'members', id: 1 };
const truncated = fc.integer({ min: 1, max: 64 }).map((cut) => {
  const full = encodeFrame({ t: 'gossip', g: [{ id: 'a', url: 'ws://x:1', inc: 3, state: 'alive', slots: 2, free: 1, speed: 9, mv: 4 }] });
  return full.subarray(0, Math.max(1, full.length - cut));
});
const oversized = fc.integer({ min: MAX_FRAME + 1, max: MAX_FRAME * 3 }).map((n) => new Uint8Array(n));
const badFrame = fc.oneof(randomBytes, truncated, wrongShape, anyValue, oversized, fc.string({ maxLength: 64 }));

async function daemonStillServes(): Promise<void> {
  const conn = await swarm.client(daemon);
  const reply = await conn.request({ t: 'members' }, 3000);
  conn.close();
  expect(reply.t).toBe('members-reply');
  if (reply.t !== 'members-reply') return;
  expect(reply.peers.filter((p) => p.state === 'alive').map((p) => p.id).sort()).toEqual([daemon.peerId, other.peerId].sort());
}

describe('protocol fuzzing against a live daemon', () => {
  it('closes unauthenticated connections that send anything but a proper hello, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(badFrame, async (frame) => {
        const out = await send(await open(), [frame]);
        // Never dispatched: no reply of any kind, only (at most) the handshake's close.
        expect(out.replies).toBe(0);
        expect(out.code).toBeDefined();
        expect([...BAD_FRAME_CODES, CloseCode.VERSION_MISMATCH]).toContain(out.code);
      }),
      { numRuns: 300 },
    );
    await daemonStillServes();
  });

  it('closes an authenticated connection on a bad frame with a code, and keeps serving with membership intact', async () => {
    await fc.assert(
      fc.asyncProperty(badFrame, fc.boolean(), async (frame, withValidFirst) => {
        const ws = await authenticated();
        const out = await send(ws, withValidFirst ? [encodeFrame(validMembers), frame] : [frame]);
        // A random frame can happen to be a valid message (then it is served and the connection stays open).
        if (out.code !== undefined) expect(BAD_FRAME_CODES).toContain(out.code);
        if (withValidFirst) expect(out.replies).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
    await daemonStillServes();
  });

  it('logs exactly one line per refused frame', async () => {
    const before = daemon.stderr().split('\n').length;
    for (const frame of [new Uint8Array([0xc1]), packr.pack({ t: 'nope' }) as Uint8Array, packr.pack({ t: 'members', id: 'x' }) as Uint8Array]) {
      const out = await send(await authenticated(), [frame]);
      expect(out.code).toBe(CloseCode.PROTOCOL_ERROR);
    }
    const out = await send(await authenticated(), [new Uint8Array(MAX_FRAME + 1)]);
    expect(out.code).toBe(CloseCode.FRAME_TOO_LARGE);
    await waitFor(() => daemon.stderr().split('\n').length - before >= 4, 2000, 'four log lines');
    const lines = daemon.stderr().split('\n').slice(before - 1).filter(Boolean);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/WARN  connection: closing client [0-9a-f]{32} .*ERR_FRAME_GARBAGE.*\(4400\)/);
    expect(lines[1]).toMatch(/ERR_UNKNOWN_TYPE unknown message type "nope" \(4400\)/);
    expect(lines[2]).toMatch(/ERR_INVALID_FIELD invalid 'members' message: id: expected a non-negative integer, got a string of 1 characters \(4400\)/);
    expect(lines[3]).toMatch(/ERR_FRAME_TOO_LARGE/);
    await daemonStillServes();
  });

  it('closes a connection that sends a msg-deliver whose message batch is malformed, naming the message and field', async () => {
    const batch = encodeMsgBatch([0, 1, 2].map((i) => ({ seq: i, prev: i - 1, bytes: new Uint8Array(3) }))).slice();
    new DataView(batch.buffer).setFloat64(4 + 20 * 1, -4, true); // message 1's seq
    const deliver = { t: 'msg-deliver', vc: 'vc-1', from: 0, to: 1, epoch: 1, round: 0, origin: 'fuzzer', dest: daemon.peerId };
    const before = daemon.stderr().split('\n').length;
    for (const msgs of [batch, batch.subarray(0, 30), [{ seq: 0, prev: -1, value: new Uint8Array(1) }]]) {
      const out = await send(await authenticated(), [packr.pack({ ...deliver, msgs }) as Uint8Array]);
      expect(out.code).toBe(CloseCode.PROTOCOL_ERROR);
    }
    await waitFor(() => daemon.stderr().split('\n').length - before >= 3, 2000, 'three log lines');
    const lines = daemon.stderr().split('\n').slice(before - 1).filter(Boolean);
    expect(lines[0]).toMatch(/ERR_INVALID_FIELD invalid 'msg-deliver' message: msgs\[1\]\.seq: expected a non-negative integer, got the integer -4 \(4400\)/);
    expect(lines[1]).toMatch(/ERR_INVALID_FIELD invalid 'msg-deliver' message: msgs: expected 64 bytes of header for the 3 messages the batch announces, got 30 bytes/);
    expect(lines[2]).toMatch(/ERR_INVALID_FIELD invalid 'msg-deliver' message: msgs: expected a message batch .*, got an array of 1/);
    await daemonStillServes();
  });
});
