/**
 * Identity and the secure channel, attacked from a swarm-key holder on loopback (issue 15, items 1 and 3):
 * a hello claiming another live peer's id (or the daemon's own) is refused; a stolen public key without its
 * private key is refused; the sender a handler sees is always the id of the key that signed; tampered,
 * replayed, reordered, truncated and unsealed frames close the connection (4400, ERR_FRAME_AUTH, one log line)
 * and the daemon keeps serving; a sniffer on the TCP path sees no plaintext; identities persist per data dir.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import { CloseCode, OptionError } from '../../src/protocol/errors.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION } from '../../src/protocol/codec.ts';
import { computeProof, initiateHandshake, signTranscript, transcriptHash } from '../../src/protocol/handshake.ts';
import { generateIdentity, peerIdOf, type Identity } from '../../src/protocol/identity.ts';
import { INSECURE_PLAINTEXT_ENV, type SecureChannel } from '../../src/protocol/secure-channel.ts';
import type { Message } from '../../src/protocol/messages.ts';
import { PeerController, type PeerControllerOptions } from '../../src/daemon/peer-controller.ts';
import type { Sender } from '../../src/daemon/message-handlers.ts';

const key = randomBytes(32);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(opts: Partial<PeerControllerOptions> = {}): Promise<{ pc: PeerController; lines: string[] }> {
  const lines: string[] = [];
  const pc = await PeerController.start({ swarmKey: key, speed: 1, slots: 1, log: createLogger({ level: 'info', sink: (l) => lines.push(l) }), ...opts });
  cleanups.push(() => pc.stop());
  return { pc, lines };
}

function rawSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', () => {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    cleanups.push(() => ws.terminate());
  });
}

const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
const next = (ws: WebSocket): Promise<Buffer> => new Promise((r) => ws.once('message', (d: Buffer) => r(d)));

function x25519(): Buffer {
  const der = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

/** A raw socket authenticated as `identity`; binary frames it sends are sealed unless `raw` is set. */
async function authenticated(url: string, identity: Identity = generateIdentity(), role: 'client' | 'peer' = 'client'): Promise<{ ws: WebSocket; channel: SecureChannel }> {
  const ws = await rawSocket(url);
  const channel = await initiateHandshake(ws, { swarmKey: key, identity, role }, (r) => r.channel);
  if (channel === undefined) throw new Error('no secure channel');
  return { ws, channel };
}

async function stillServes(pc: PeerController): Promise<void> {
  const c = await connect(pc.url, { swarmKey: key, role: 'client' });
  expect(await c.request({ t: 'echo', value: 'ok' }, 3000)).toMatchObject({ t: 'echo-reply', value: 'ok' });
  c.close();
}

describe('identity: a peer id cannot be claimed', () => {
  it('refuses a hello that claims another live peer id or the daemon own id (4401, one log line)', async () => {
    const { pc, lines } = await daemon();
    const { pc: other } = await daemon({ join: [pc.url] });
    const attacker = generateIdentity();
    for (const claimed of [pc.id, other.id]) {
      const before = lines.filter((l) => l.includes('refused')).length;
      const ws = await rawSocket(pc.url);
      const done = closed(ws);
      ws.send(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, role: 'peer', peerId: claimed, key: attacker.publicKey, eph: x25519(), nonce: randomBytes(32) }));
      const { code, reason } = await done;
      expect(code).toBe(CloseCode.AUTH_FAILED);
      expect(reason).toContain(`hello claims peer id ${claimed}`);
      await new Promise((r) => setTimeout(r, 30));
      expect(lines.filter((l) => l.includes('refused')).length - before).toBe(1);
    }
    await stillServes(pc);
  });

  it("refuses a hello with a live peer's (public) key and id: without its private key the signature fails", async () => {
    const { pc, lines } = await daemon();
    const { pc: victim } = await daemon({ join: [pc.url] });
    const attacker = generateIdentity();
    const ws = await rawSocket(pc.url);
    const done = closed(ws);
    const nonce = randomBytes(32);
    const eph = x25519();
    const ch = next(ws);
    ws.send(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, role: 'peer', peerId: victim.id, key: victim.publicKey, eph, nonce }));
    const challenge = decodeFrame(await ch);
    if (challenge.t !== 'challenge') throw new Error(`expected a challenge, got ${challenge.t}`);
    const th = transcriptHash({ v: PROTOCOL_VERSION, role: 'peer', initiatorKey: victim.publicKey, initiatorEph: eph, acceptorKey: challenge.key, acceptorEph: challenge.eph, nI: nonce, nA: challenge.nonce });
    // The attacker holds the swarm key (the proof verifies) but signs with its own key.
    ws.send(encodeFrame({ t: 'auth', proof: computeProof(key, 'initiator', th), sig: signTranscript(attacker, 'initiator', th) }));
    const { code, reason } = await done;
    expect(code).toBe(CloseCode.AUTH_FAILED);
    expect(reason).toContain(`signature of ${victim.id} does not verify`);
    await new Promise((r) => setTimeout(r, 30));
    expect(lines.filter((l) => l.includes('refused') && l.includes(victim.id))).toHaveLength(1);
  });

  it("a forged exec-result / exec-cancel arrives under the sender's own derived id, never the worker's or owner's", async () => {
    const { pc: worker } = await daemon();
    const { pc: owner } = await daemon({ join: [worker.url] });
    const seen: { t: string; from: string }[] = [];
    const capture = (msg: Message, from: Sender): undefined => {
      seen.push({ t: msg.t, from: from.remoteId });
      return undefined;
    };
    owner.register({ 'exec-result': { peer: capture } });
    worker.register({ 'exec-cancel': { peer: (msg, from) => (capture(msg, from), { t: 'exec-cancel-reply', found: false }) } });
    const attacker = generateIdentity();
    const toOwner = await connect(owner.url, { swarmKey: key, role: 'peer', identity: attacker });
    const toWorker = await connect(worker.url, { swarmKey: key, role: 'peer', identity: attacker });
    cleanups.push(() => toOwner.close(), () => toWorker.close());
    toOwner.send({ t: 'exec-result', vc: 'vc-1', thread: 1, epoch: 1, value: new Uint8Array([1]), others: 0, token: new Uint8Array(16) });
    await toWorker.request({ t: 'exec-cancel', vc: 'vc-1', thread: 1, token: new Uint8Array(16) });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([
      { t: 'exec-result', from: attacker.id },
      { t: 'exec-cancel', from: attacker.id },
    ]);
    expect(attacker.id).not.toBe(worker.id);
    expect(attacker.id).not.toBe(owner.id);
  });
});

describe('secure channel: every frame after the handshake is sealed', () => {
  const members = (id: number): Buffer => encodeFrame({ t: 'members', id });

  async function attack(send: (ws: WebSocket, channel: SecureChannel) => void, lines: string[], url: string): Promise<{ code: number; reason: string }> {
    const { ws, channel } = await authenticated(url);
    const done = closed(ws);
    send(ws, channel);
    const out = await done;
    await new Promise((r) => setTimeout(r, 30));
    return out;
  }

  it('closes on a tampered, replayed, reordered, truncated or unsealed frame (4400 ERR_FRAME_AUTH, one log line each), and keeps serving', async () => {
    const { pc, lines } = await daemon();
    const cases: Record<string, (ws: WebSocket, ch: SecureChannel) => void> = {
      tampered: (ws, ch) => {
        const f = ch.seal(members(1));
        f[3] = f[3]! ^ 0x01;
        ws.send(f);
      },
      replayed: (ws, ch) => {
        const f = ch.seal(members(1));
        ws.send(f);
        ws.send(f);
      },
      reordered: (ws, ch) => {
        const a = ch.seal(members(1));
        const b = ch.seal(members(2));
        ws.send(b);
        ws.send(a);
      },
      truncated: (ws, ch) => ws.send(ch.seal(members(1)).subarray(0, -1)),
      unsealed: (ws) => ws.send(members(1)),
      'tag only': (ws) => ws.send(Buffer.alloc(16)),
    };
    for (const [name, send] of Object.entries(cases)) {
      const before = lines.filter((l) => l.includes('ERR_FRAME_AUTH')).length;
      const out = await attack(send, lines, pc.url);
      expect({ name, code: out.code }).toEqual({ name, code: CloseCode.PROTOCOL_ERROR });
      expect(out.reason).toMatch(/^ERR_FRAME_AUTH: encrypted frame \d+ of \d+ bytes (failed authentication|is shorter than its 16-byte tag)/);
      expect(lines.filter((l) => l.includes('ERR_FRAME_AUTH')).length - before).toBe(1);
    }
    expect(pc.state).toBe('running');
    await stillServes(pc);
  });

  it('a replayed frame does not get a second reply before the connection closes', async () => {
    const { pc, lines } = await daemon();
    let replies = 0;
    const out = await attack(
      (ws, ch) => {
        ws.on('message', () => replies++);
        const f = ch.seal(members(1));
        ws.send(f);
        ws.send(f);
      },
      lines,
      pc.url,
    );
    expect(out.code).toBe(CloseCode.PROTOCOL_ERROR);
    expect(replies).toBeLessThanOrEqual(1);
  });
});

/** A TCP relay in front of `port` recording every byte both ways. */
async function sniffer(port: number): Promise<{ url: string; bytes: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((down) => {
    const up = tcpConnect(port, '127.0.0.1');
    down.on('data', (d) => chunks.push(Buffer.from(d)));
    up.on('data', (d) => chunks.push(Buffer.from(d)));
    down.pipe(up).pipe(down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const { port: relay } = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${relay}`, bytes: () => Buffer.concat(chunks) };
}

describe('confidentiality on the wire', () => {
  async function exchange(marker: string): Promise<Buffer> {
    const { pc } = await daemon();
    const port = Number(new URL(pc.url).port);
    const tap = await sniffer(port);
    const conn: Connection = await connect(tap.url, { swarmKey: key, role: 'client' });
    cleanups.push(() => conn.close());
    const reply = await conn.request({ t: 'echo', value: { global: 'secret', value: marker } });
    expect(reply).toMatchObject({ t: 'echo-reply', value: { global: 'secret', value: marker } });
    return tap.bytes();
  }

  it('a sniffer on the loopback path sees neither a value nor its marker string in either direction', async () => {
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const wire = await exchange(marker);
    expect(wire.length).toBeGreaterThan(200);
    expect(wire.indexOf(marker)).toBe(-1);
    expect(wire.indexOf('secret')).toBe(-1);
    expect(wire.indexOf('echo')).toBe(-1);
  });

  it('(control) the same sniffer does see the marker when encryption is off for the benchmark baseline', async () => {
    process.env[INSECURE_PLAINTEXT_ENV] = '1';
    cleanups.push(() => delete process.env[INSECURE_PLAINTEXT_ENV]);
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    expect((await exchange(marker)).indexOf(marker)).toBeGreaterThan(-1);
  });
});

describe('identity persistence', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'ppp2p-identity-'));
    dirs.push(d);
    return d;
  };

  it('same data dir -> same id across restarts; another data dir -> another id; the key file is 0600', async () => {
    const a = dir();
    const first = await daemon({ dataDir: a });
    const id = first.pc.id;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(peerIdOf(first.pc.publicKey)).toBe(id);
    await first.pc.stop();
    expect(statSync(join(a, 'identity.key')).mode & 0o777).toBe(0o600);
    const again = await daemon({ dataDir: a });
    expect(again.pc.id).toBe(id);
    const other = await daemon({ dataDir: dir() });
    expect(other.pc.id).not.toBe(id);
    // What a client sees is the derived id of the key the daemon signed with.
    const c = await connect(again.pc.url, { swarmKey: key, role: 'client' });
    expect(c.remoteId).toBe(id);
    expect(c.remoteKey.equals(again.pc.publicKey)).toBe(true);
    c.close();
  });

  it('a corrupt identity file is a one-line error, and is left as it is', async () => {
    const d = dir();
    writeFileSync(join(d, 'identity.key'), 'not a key\n');
    const err = await PeerController.start({ swarmKey: key, speed: 1, slots: 1, dataDir: d, logLevel: 'silent' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OptionError);
    expect((err as Error).message).toMatch(/^identity key .*identity\.key is not an Ed25519 private key in PKCS#8 PEM; move it away/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('an explicit identity gives its derived id', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const { pc } = await daemon({ identity: privateKey });
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(pc.id).toBe(peerIdOf(pc.publicKey));
    expect(der.length).toBeGreaterThan(0);
  });
});
