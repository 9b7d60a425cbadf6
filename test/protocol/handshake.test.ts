/**
 * The handshake, against an in-process daemon and hand-driven sockets: mutual proof of the swarm key and of each
 * side's identity key (signed transcript, derived ids), refusal codes, no key on the wire, no replay, nothing
 * dispatched before authentication, TLS binding, session keys.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import { CloseCode, HandshakeError } from '../../src/protocol/errors.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { PeerController, type PeerControllerOptions } from '../../src/daemon/peer-controller.ts';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION } from '../../src/protocol/codec.ts';
import { checkSwarmKey, computeProof, initiateHandshake, proofsEqual, sessionKeys, signTranscript, transcriptHash, verifyTranscript, type Transcript } from '../../src/protocol/handshake.ts';
import { generateIdentity, peerIdOf } from '../../src/protocol/identity.ts';
import type { Message } from '../../src/protocol/messages.ts';

const key = randomBytes(32);
let pc: PeerController | undefined;
let lines: string[] = [];
const cleanups: (() => void | Promise<void>)[] = [];

async function daemon(opts: Partial<PeerControllerOptions> = {}): Promise<PeerController> {
  lines = [];
  pc = await PeerController.start({ swarmKey: key, speed: 1, slots: 1, log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }), ...opts });
  return pc;
}

beforeEach(() => {
  lines = [];
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await pc?.stop();
  pc = undefined;
});

function rawSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, rejectUnauthorized: false });
    ws.on('error', () => {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    cleanups.push(() => ws.terminate());
  });
}

/** Collects decoded frames and the close of a raw socket. */
function watch(ws: WebSocket): { frames: Message[]; closed: Promise<{ code: number; reason: string }> } {
  const frames: Message[] = [];
  ws.on('message', (d: Buffer) => frames.push(decodeFrame(d)));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  return { frames, closed };
}

const next = (ws: WebSocket): Promise<Message> => new Promise((r) => ws.once('message', (d: Buffer) => r(decodeFrame(d))));
const rawIdentity = generateIdentity();
/** A fresh X25519 pair: the private key and the raw public key, as a hand-driven initiator needs. */
function eph(): { privateKey: ReturnType<typeof generateKeyPairSync>['privateKey']; raw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, raw: Buffer.from(der.subarray(der.length - 32)) };
}
const rawEph = eph();
const hello = (v = PROTOCOL_VERSION, nonce = randomBytes(32), id = rawIdentity, e = rawEph.raw): Message => ({
  t: 'hello',
  v,
  role: 'client',
  peerId: id.id,
  key: id.publicKey,
  eph: e,
  nonce,
});
/** The transcript a hand-driven initiator with `rawIdentity` and `rawEph` signs, given the daemon's challenge. */
function transcriptFor(nonce: Buffer, challenge: Message, channelBinding?: Uint8Array): Transcript {
  if (challenge.t !== 'challenge') throw new Error('expected a challenge');
  return {
    v: PROTOCOL_VERSION,
    role: 'client',
    initiatorKey: rawIdentity.publicKey,
    initiatorEph: rawEph.raw,
    acceptorKey: challenge.key,
    acceptorEph: challenge.eph,
    nI: nonce,
    nA: challenge.nonce,
    channelBinding,
  };
}

describe('handshake proofs', () => {
  const base: Transcript = {
    v: 1,
    role: 'client',
    initiatorKey: Buffer.alloc(32, 1),
    initiatorEph: Buffer.alloc(32, 2),
    acceptorKey: Buffer.alloc(32, 3),
    acceptorEph: Buffer.alloc(32, 4),
    nI: Buffer.alloc(32, 5),
    nA: Buffer.alloc(32, 6),
  };

  it('bind the key, both nonces, both identity and ephemeral keys, the role, the side, the url and the TLS session', () => {
    const th = transcriptHash(base);
    const p = computeProof(key, 'initiator', th);
    expect(p).toHaveLength(32);
    expect(proofsEqual(p, computeProof(key, 'initiator', transcriptHash({ ...base })))).toBe(true);
    const variants = [
      computeProof(randomBytes(32), 'initiator', th),
      computeProof(key, 'acceptor', th),
      ...(
        [
          { role: 'peer' },
          { initiatorKey: Buffer.alloc(32, 9) },
          { initiatorEph: Buffer.alloc(32, 9) },
          { acceptorKey: Buffer.alloc(32, 9) },
          { acceptorEph: Buffer.alloc(32, 9) },
          { nI: Buffer.alloc(32, 9) },
          { nA: Buffer.alloc(32, 9) },
          { v: 2 },
          { url: 'ws://x:1' },
          { channelBinding: Buffer.alloc(32, 5) },
          // Length-prefixed: moving bytes from one field to the next changes the proof.
          { nI: Buffer.alloc(33, 5), nA: Buffer.alloc(31, 6) },
        ] as Partial<Transcript>[]
      ).map((d) => computeProof(key, 'initiator', transcriptHash({ ...base, ...d }))),
    ];
    for (const v of variants) expect(proofsEqual(p, v)).toBe(false);
  });

  it('sign the transcript hash with the identity key, side-labelled; the id is derived from the key', () => {
    const me = generateIdentity();
    expect(me.id).toMatch(/^[0-9a-f]{32}$/);
    expect(peerIdOf(me.publicKey)).toBe(me.id);
    const th = transcriptHash(base);
    const sig = signTranscript(me, 'initiator', th);
    expect(verifyTranscript(me.publicKey, 'initiator', th, sig)).toBe(true);
    expect(verifyTranscript(me.publicKey, 'acceptor', th, sig)).toBe(false);
    expect(verifyTranscript(me.publicKey, 'initiator', transcriptHash({ ...base, v: 2 }), sig)).toBe(false);
    expect(verifyTranscript(generateIdentity().publicKey, 'initiator', th, sig)).toBe(false);
    expect(verifyTranscript(me.publicKey, 'initiator', th, Buffer.alloc(64))).toBe(false);
  });

  it('derive the same two directional session keys on both sides, refuse a low-order ephemeral key', () => {
    const a = eph();
    const b = eph();
    const th = transcriptHash(base);
    const ka = sessionKeys(key, a.privateKey, b.raw, th)!;
    const kb = sessionKeys(key, b.privateKey, a.raw, th)!;
    expect(ka.i2a.equals(kb.i2a)).toBe(true);
    expect(ka.a2i.equals(kb.a2i)).toBe(true);
    expect(ka.i2a.equals(ka.a2i)).toBe(false);
    // Another swarm key or transcript: other keys.
    expect(sessionKeys(randomBytes(32), a.privateKey, b.raw, th)!.i2a.equals(ka.i2a)).toBe(false);
    expect(sessionKeys(key, a.privateKey, b.raw, transcriptHash({ ...base, v: 9 }))!.i2a.equals(ka.i2a)).toBe(false);
    expect(sessionKeys(key, a.privateKey, Buffer.alloc(32), th)).toBeUndefined();
  });

  it('compare unequal for different lengths, and keys must be 32 bytes', () => {
    expect(proofsEqual(Buffer.alloc(32), Buffer.alloc(31))).toBe(false);
    expect(() => checkSwarmKey(Buffer.alloc(16))).toThrow('swarm key must be 32 bytes, got 16 (make one with: ppp2p keygen > swarm.key)');
  });
});

describe('handshake against a daemon', () => {
  it('authenticates a client with the swarm key in both directions', async () => {
    const d = await daemon();
    const seen = new Promise<Connection>((r) => d.once('connection', r));
    const app = generateIdentity();
    const conn = await connect(d.url, { swarmKey: key, role: 'client', identity: app });
    cleanups.push(() => conn.close());
    expect(conn).toMatchObject({ remoteId: d.id, role: 'client', direction: 'outbound', isOpen: true });
    expect(conn.remoteKey.equals(d.publicKey)).toBe(true);
    const inbound = await seen;
    expect(inbound).toMatchObject({ remoteId: app.id, role: 'client', direction: 'inbound' });
    expect(inbound.remoteKey.equals(app.publicKey)).toBe(true);
  });

  it('refuses a wrong key with close code 4401 and one log line', async () => {
    const d = await daemon();
    const err = (await connect(d.url, { swarmKey: randomBytes(32), role: 'client' }).catch((e: unknown) => e)) as HandshakeError;
    expect(err).toBeInstanceOf(HandshakeError);
    expect(err).toMatchObject({ code: 'ERR_AUTH_FAILED', closeCode: CloseCode.AUTH_FAILED, closeReason: 'authentication failed: wrong swarm key', closedBy: 'them' });
    await new Promise((r) => setTimeout(r, 50));
    const refusals = lines.filter((l) => l.includes('refused'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/WARN  connection: refused 127\.0\.0\.1:\d+: ERR_AUTH_FAILED authentication failed: wrong swarm key \(4401\)/);
  });

  it('a client refuses a server that cannot prove it holds the key', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    const serverSaw = new Promise<number>((resolve) => {
      wss.on('connection', (ws) => {
        // Plays the acceptor without the key: any auth is "accepted", the welcome carries a made-up proof.
        ws.on('message', (d: Buffer) => {
          const t = decodeFrame(d).t;
          const impostor = generateIdentity();
          if (t === 'hello') ws.send(encodeFrame({ t: 'challenge', v: PROTOCOL_VERSION, peerId: impostor.id, key: impostor.publicKey, eph: eph().raw, nonce: randomBytes(32) }));
          if (t === 'auth') ws.send(encodeFrame({ t: 'welcome', proof: randomBytes(32), sig: randomBytes(64) }));
        });
        ws.once('close', (code) => resolve(code));
      });
    });
    const { port } = wss.address() as { port: number };
    const err = await connect(`ws://127.0.0.1:${port}`, { swarmKey: key, role: 'client' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_AUTH_FAILED', closedBy: 'us', message: 'authentication failed: the other side does not hold our swarm key' });
    expect(await serverSaw).toBe(CloseCode.AUTH_FAILED);
  });

  it('never puts the key on the wire', async () => {
    const d = await daemon();
    const ws = await rawSocket(d.url);
    const wire: Buffer[] = [];
    ws.on('message', (b: Buffer) => wire.push(Buffer.from(b)));
    const send = ws.send.bind(ws);
    ws.send = ((data: Buffer, ...rest: unknown[]) => {
      wire.push(Buffer.from(data));
      return (send as (...a: unknown[]) => void)(data, ...rest);
    }) as typeof ws.send;
    await initiateHandshake(ws, { swarmKey: key, identity: generateIdentity(), role: 'client' }, () => undefined);
    expect(wire.length).toBe(4);
    const all = Buffer.concat(wire);
    expect(all.indexOf(key)).toBe(-1);
    expect(all.indexOf(Buffer.from(key.toString('base64')))).toBe(-1);
    expect(all.indexOf(key.subarray(0, 8))).toBe(-1);
  });

  it('a recorded proof cannot be replayed on a new connection', async () => {
    const d = await daemon();
    // Record an honest handshake.
    const ws1 = await rawSocket(d.url);
    let recordedAuth: Buffer | undefined;
    const send = ws1.send.bind(ws1);
    ws1.send = ((data: Buffer, ...rest: unknown[]) => {
      if (decodeFrame(data).t === 'auth') recordedAuth = Buffer.from(data);
      return (send as (...a: unknown[]) => void)(data, ...rest);
    }) as typeof ws1.send;
    const nonce = randomBytes(32);
    const recordedHello: Message = hello(PROTOCOL_VERSION, nonce);
    // Drive it by hand with a fixed nonce so the attacker can send the very same hello again.
    const ch = next(ws1);
    ws1.send(encodeFrame(recordedHello));
    const challenge = await ch;
    if (challenge.t !== 'challenge') throw new Error('expected a challenge');
    const th = transcriptHash(transcriptFor(nonce, challenge));
    const welcome = next(ws1);
    ws1.send(encodeFrame({ t: 'auth', proof: computeProof(key, 'initiator', th), sig: signTranscript(rawIdentity, 'initiator', th) }));
    expect((await welcome).t).toBe('welcome');
    expect(recordedAuth).toBeDefined();
    // Replay it.
    const ws2 = await rawSocket(d.url);
    const w = watch(ws2);
    ws2.send(encodeFrame(recordedHello));
    await new Promise((r) => setTimeout(r, 50));
    ws2.send(recordedAuth!);
    expect(await w.closed).toEqual({ code: CloseCode.AUTH_FAILED, reason: 'authentication failed: wrong swarm key' });
    expect(w.frames.map((f) => f.t)).toEqual(['challenge']);
  });

  it('dispatches nothing before authentication: a request instead of hello or auth closes with 4400', async () => {
    const d = await daemon();
    for (const first of [[], [hello()]]) {
      const ws = await rawSocket(d.url);
      const w = watch(ws);
      for (const m of first) ws.send(encodeFrame(m));
      ws.send(encodeFrame({ t: 'members', id: 1 }));
      const { code, reason } = await w.closed;
      expect(code).toBe(CloseCode.PROTOCOL_ERROR);
      expect(reason).toMatch(/^ERR_UNEXPECTED_MESSAGE: 'members' during the handshake, expected '(hello|auth)'$/);
      expect(w.frames.filter((f) => f.t !== 'challenge')).toEqual([]);
    }
  });

  it('closes a connection that does not finish the handshake in time (4408)', async () => {
    const d = await daemon({ handshakeTimeoutMs: 150 });
    const ws = await rawSocket(d.url);
    const t0 = performance.now();
    expect((await watch(ws).closed).code).toBe(CloseCode.HANDSHAKE_TIMEOUT);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('refuses another version before reading the rest of the hello, naming both versions (4426)', async () => {
    const d = await daemon();
    for (const frame of [encodeFrame(hello(PROTOCOL_VERSION + 1)), encodeFrame({ t: 'hello', v: 99, future: true } as unknown as Message)]) {
      const ws = await rawSocket(d.url);
      const w = watch(ws);
      ws.send(frame);
      const { code, reason } = await w.closed;
      expect(code).toBe(CloseCode.VERSION_MISMATCH);
      expect(reason).toMatch(new RegExp(`^protocol version mismatch: this side speaks version ${PROTOCOL_VERSION}, the other side version (${PROTOCOL_VERSION + 1}|99)$`));
    }
  });

  it('a client refuses a daemon of another version, naming both versions', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => ws.once('message', () => ws.send(encodeFrame({ t: 'challenge', v: 7, peerId: 'old', key: randomBytes(32), eph: randomBytes(32), nonce: randomBytes(32) }))));
    const { port } = wss.address() as { port: number };
    const err = await connect(`ws://127.0.0.1:${port}`, { swarmKey: key, role: 'client' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_VERSION_MISMATCH', closeCode: 4426, message: `protocol version mismatch: this side speaks version ${PROTOCOL_VERSION}, the other side version 7` });
  });

  it('delivers messages the daemon sends right after the handshake, before any handler is attached', async () => {
    const d = await daemon();
    d.on('connection', (c) => c.send({ t: 'gossip', g: [] }));
    const conn = await connect(d.url, { swarmKey: key, role: 'client' });
    cleanups.push(() => conn.close());
    await new Promise((r) => setTimeout(r, 50));
    const got = await new Promise<Message>((r) => conn.onMessage(r));
    expect(got).toEqual({ t: 'gossip', g: [] });
  });
});

describe('handshake over TLS', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves wss:// and binds the proofs to the TLS session (self-signed certificate, no CA needed)', async (ctx) => {
    dir = mkdtempSync(join(tmpdir(), 'ppp2p-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=ppp2p-test'], { stdio: 'ignore' });
    } catch {
      ctx.skip();
      return;
    }
    const d = await daemon({ tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
    expect(d.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const conn = await connect(d.url, { swarmKey: key, role: 'client' });
    cleanups.push(() => conn.close());
    const reply = await conn.request({ t: 'members' });
    expect(reply.t).toBe('members-reply');
    await expect(connect(d.url, { swarmKey: randomBytes(32), role: 'client' })).rejects.toMatchObject({ code: 'ERR_AUTH_FAILED', closeCode: 4401 });
    // A proof made for a plain (unbound) session does not verify on a TLS session.
    const ws = await rawSocket(d.url);
    const w = watch(ws);
    const nonce = randomBytes(32);
    const ch = next(ws);
    ws.send(encodeFrame(hello(PROTOCOL_VERSION, nonce)));
    const th = transcriptHash(transcriptFor(nonce, await ch));
    ws.send(encodeFrame({ t: 'auth', proof: computeProof(key, 'initiator', th), sig: signTranscript(rawIdentity, 'initiator', th) }));
    expect((await w.closed).code).toBe(CloseCode.AUTH_FAILED);
  });
});
