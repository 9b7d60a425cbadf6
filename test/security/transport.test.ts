/**
 * Transport hardening (issue 15, item 3): what an unauthenticated or misbehaving connection can cost a daemon.
 * Real daemons on loopback and real sockets; every loop here is bounded and stops by itself.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { encodeFrame } from '../../src/protocol/codec.ts';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import { initiateHandshake } from '../../src/protocol/handshake.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { INSECURE_PLAINTEXT_ENV } from '../../src/protocol/secure-channel.ts';
import { maxPayloadOf, PRE_AUTH_MAX_PAYLOAD, SLOW_READER_CLOSE_CODE } from '../../src/protocol/limits.ts';
import { PeerController, type PeerControllerOptions } from '../../src/daemon/peer-controller.ts';
import { DEFAULT_PARTICIPATION_OPTIONS } from '../../src/daemon/swarm/participation-manager.ts';
import { Swarm } from '../daemon/helpers.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resident set size of a process in bytes (Linux). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const MB = 1024 * 1024;

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A TCP socket to the daemon, resolved once connected. */
function tcp(url: string, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port: portOf(url), localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the time (ms since `since`) at which the socket closed, or undefined after `maxMs`. */
function closedWithin(s: Socket, since: number, maxMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(Date.now() - since);
    const timer = setTimeout(() => resolve(undefined), maxMs);
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
  });
}

/** A raw socket that has completed the HTTP upgrade to WebSocket, and nothing more. */
async function upgraded(url: string, localAddress?: string): Promise<Socket> {
  const s = await tcp(url, localAddress);
  s.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
    };
    s.on('data', onData);
  });
  return s;
}

/** The header of a masked binary frame (client to server) announcing `length` payload bytes. */
function frameHeader(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  // masking key: zeros (the payload goes through unchanged)
  return h;
}

/** Writes up to `total` bytes in 64 KiB chunks, honouring backpressure; resolves with the bytes written before the socket closed. */
async function pour(s: Socket, total: number, deadlineMs: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  const end = Date.now() + deadlineMs;
  while (written < total && !s.destroyed && s.writable && Date.now() < end) {
    const ok = s.write(chunk);
    written += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        s.once('drain', () => {
          clearTimeout(t);
          resolve();
        });
        s.once('close', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  return written;
}

const controllers: PeerController[] = [];
const sockets: Socket[] = [];
const conns: Connection[] = [];
let swarm: Swarm | undefined;

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of conns.splice(0)) c.terminate();
  await Promise.all(controllers.splice(0).map((pc) => pc.stop()));
  await swarm?.cleanup();
  swarm = undefined;
});

/** An in-process controller with captured log lines. */
async function controller(opts: Partial<PeerControllerOptions> = {}): Promise<{ pc: PeerController; key: Buffer; lines: string[] }> {
  const key = randomBytes(32);
  const lines: string[] = [];
  const log = createLogger({ level: 'info', component: 'peer', sink: (line: string) => lines.push(line) });
  const pc = await PeerController.start({ swarmKey: key, port: 0, speed: 1, log, ...opts });
  controllers.push(pc);
  return { pc, key, lines };
}

describe('before authentication', () => {
  it('cuts off a 60 MiB frame after its header and keeps the daemon RSS bounded', async () => {
    swarm = new Swarm();
    const d = await swarm.start(['--log-level', 'warn']);
    await sleep(300);
    const before = rssOf(d.proc.pid!);
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = await upgraded(d.url);
        sockets.push(s);
        const start = Date.now();
        s.write(frameHeader(60 * MB));
        const closed = closedWithin(s, start, 5000);
        const written = await pour(s, 60 * MB, 5000);
        return { written, closedAfterMs: await closed };
      }),
    );
    const after = rssOf(d.proc.pid!);
    console.log(`pre-auth 60 MiB frames ×8: daemon RSS ${(before / MB).toFixed(0)} → ${(after / MB).toFixed(0)} MB; written before cut-off: ${results.map((r) => (r.written / MB).toFixed(1)).join(', ')} MiB; closed after ${results.map((r) => r.closedAfterMs).join(', ')} ms`);
    for (const r of results) {
      expect(r.closedAfterMs).toBeDefined();
      // What the kernel buffers on both sides of loopback, not the frame.
      expect(r.written).toBeLessThan(16 * MB);
    }
    expect(after - before).toBeLessThan(48 * MB);
    // The daemon still serves.
    const c = await swarm.client(d);
    expect((await c.request({ t: 'echo', value: 'ok' })).value).toBe('ok');
  });

  it('raises the payload limit only once the handshake succeeded', async () => {
    const { pc, key } = await controller();
    const ws = new WebSocket(pc.url, { maxPayload: PRE_AUTH_MAX_PAYLOAD, perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    expect(maxPayloadOf(ws)).toBe(PRE_AUTH_MAX_PAYLOAD);
    ws.on('error', () => {});
    await initiateHandshake(ws, { swarmKey: key, identity: generateIdentity(), role: 'client' }, () => undefined);
    // The Connection raises it; a raw socket that is not a Connection keeps the small limit.
    expect(maxPayloadOf(ws)).toBe(PRE_AUTH_MAX_PAYLOAD);
    ws.terminate();
    const c = await connect(pc.url, { swarmKey: key, role: 'client', identity: generateIdentity(), maxFrameBytes: 8 * MB });
    conns.push(c);
    const big = 2 * MB;
    const reply = await c.request({ t: 'echo', value: new Uint8Array(big) });
    expect((reply.value as Uint8Array).length).toBe(big);
  });
});

describe('deadlines and failed handshakes', () => {
  const timeoutMs = 1000;
  // Timers, the close and the scheduling of a shared test machine: half the deadline again.
  const margin = timeoutMs / 2;

  it('closes raw TCP, half-sent HTTP and silent WebSockets within the handshake deadline', async () => {
    const { pc } = await controller({ handshakeTimeoutMs: timeoutMs });
    const start = Date.now();
    const raw = await tcp(pc.url);
    const half = await tcp(pc.url);
    half.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    const silent = await upgraded(pc.url);
    sockets.push(raw, half, silent);
    const times = await Promise.all([raw, half, silent].map((s) => closedWithin(s, start, timeoutMs + margin + 5000)));
    console.log(`deadline ${timeoutMs} ms: raw TCP closed after ${times[0]} ms, half HTTP ${times[1]} ms, silent WebSocket ${times[2]} ms`);
    for (const t of times) {
      expect(t).toBeDefined();
      expect(t!).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(t!).toBeLessThan(timeoutMs + margin);
    }
  });

  it('drops a socket whose handshake failed at once, after telling it why', async () => {
    const { pc } = await controller({ handshakeTimeoutMs: timeoutMs });
    const garbage = await upgraded(pc.url);
    sockets.push(garbage);
    const start = Date.now();
    let received = Buffer.alloc(0);
    garbage.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    const payload = Buffer.from([0xc1, 0xc1, 0xc1]);
    garbage.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
    const t = await closedWithin(garbage, start, 40_000);
    console.log(`garbage handshake frame: socket closed after ${t} ms`);
    expect(t).toBeDefined();
    expect(t!).toBeLessThan(margin);
    // The close frame (opcode 8) with a 44xx code arrived before the socket closed.
    expect(received[0]).toBe(0x88);
    expect(received.readUInt16BE(2)).toBe(4400);

    // A client with a wrong swarm key is told 4401 and its socket is gone as fast.
    const ws = new WebSocket(pc.url, { perMessageDeflate: false });
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    const t0 = Date.now();
    const closed = new Promise<{ code: number; ms: number }>((r) => ws.once('close', (code) => r({ code, ms: Date.now() - t0 })));
    // The ws client answers the close frame itself; what matters is the server not waiting for it: see `garbage`.
    await initiateHandshake(ws, { swarmKey: randomBytes(32), identity: generateIdentity(), role: 'client' }, () => undefined).catch(() => undefined);
    const c = await closed;
    expect(c.code).toBe(4401);
    expect(c.ms).toBeLessThan(margin);
  });
});

describe('admission over TLS', () => {
  it('keeps an authenticated wss:// connection past the handshake deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppp2p-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=ppp2p-test'], { stdio: 'ignore' });
      const timeoutMs = 300;
      const { pc, key } = await controller({ handshakeTimeoutMs: timeoutMs, tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
      const c = await connect(pc.url, { swarmKey: key, role: 'client', identity: generateIdentity() });
      conns.push(c);
      await sleep(timeoutMs * 3);
      expect((await c.request({ t: 'echo', value: 'still here' })).value).toBe('still here');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connection caps', () => {
  it('refuses unauthenticated connections beyond the per-address cap, with a logged line, and keeps serving others', async () => {
    const perAddress = 8;
    const { pc, key, lines } = await controller({ maxPendingPerAddress: perAddress, handshakeTimeoutMs: 20_000 });
    const established = await connect(pc.url, { swarmKey: key, role: 'client', identity: generateIdentity() });
    conns.push(established);
    // The attacker comes from another loopback address, so that the cap on its address is what is tested.
    const attacker = '127.0.0.2';
    const held: Socket[] = [];
    for (let i = 0; i < perAddress * 3; i++) {
      const s = await tcp(pc.url, attacker);
      sockets.push(s);
      held.push(s);
    }
    const start = Date.now();
    const closed = await Promise.all(held.map((s) => closedWithin(s, start, 1000)));
    const refused = closed.filter((t) => t !== undefined).length;
    expect(refused).toBe(perAddress * 2);
    expect(closed.slice(0, perAddress).every((t) => t === undefined)).toBe(true);
    const refusals = lines.filter((l) => l.includes('refused a connection from 127.0.0.2'));
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(2); // rate-limited
    // The established client and a new one from another address work.
    expect((await established.request({ t: 'echo', value: 1 })).value).toBe(1);
    const late = await connect(pc.url, { swarmKey: key, role: 'client', identity: generateIdentity() });
    conns.push(late);
    expect((await late.request({ t: 'echo', value: 2 })).value).toBe(2);
  });

  it('refuses connections beyond the total cap without touching established ones', async () => {
    const { pc, key, lines } = await controller({ maxConnections: 4 });
    const established = await Promise.all([0, 1].map((i) => connect(pc.url, { swarmKey: key, role: 'client', identity: generateIdentity() })));
    conns.push(...established);
    const held = await Promise.all([0, 1, 2, 3].map(() => tcp(pc.url)));
    sockets.push(...held);
    const start = Date.now();
    const closed = await Promise.all(held.map((s) => closedWithin(s, start, 1000)));
    expect(closed.filter((t) => t !== undefined).length).toBe(2);
    expect(lines.some((l) => l.includes('the maximum (maxConnections)'))).toBe(true);
    for (const c of established) expect((await c.request({ t: 'echo', value: 'x' })).value).toBe('x');
  });
});

describe('after authentication', () => {
  it('drops a client that stops reading once its unread replies pass the bound, RSS bounded', async () => {
    swarm = new Swarm();
    const d = await swarm.start(['--log-level', 'warn']);
    await sleep(300);
    const before = rssOf(d.proc.pid!);
    const ws = new WebSocket(d.url, { maxPayload: PRE_AUTH_MAX_PAYLOAD, perMessageDeflate: false });
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    const channel = await initiateHandshake(ws, { swarmKey: swarm.key, identity: generateIdentity(), role: 'client' }, (r) => r.channel);
    ws.pause(); // never reads a reply again
    const value = new Uint8Array(MB);
    let sent = 0;
    let peak = before;
    for (let i = 0; i < 400 && ws.readyState === ws.OPEN; i++) {
      const frame = encodeFrame({ t: 'echo', id: i + 1, value });
      ws.send(channel === undefined ? frame : channel.seal(frame));
      sent++;
      if (ws.bufferedAmount > 8 * MB) await sleep(20);
      if (i % 10 === 0) peak = Math.max(peak, rssOf(d.proc.pid!));
      if (d.stderr().includes('slow reader')) break;
    }
    for (let i = 0; i < 20 && !d.stderr().includes('slow reader'); i++) await sleep(100);
    peak = Math.max(peak, rssOf(d.proc.pid!));
    console.log(`slow reader: ${sent} × 1 MiB echo requests; daemon RSS ${(before / MB).toFixed(0)} → peak ${(peak / MB).toFixed(0)} MB`);
    expect(d.stderr()).toContain(`(${SLOW_READER_CLOSE_CODE})`);
    expect(peak - before).toBeLessThan(200 * MB);
    ws.terminate();
    const c = await swarm.client(d);
    expect((await c.request({ t: 'echo', value: 'ok' })).value).toBe('ok');
  });

  it("one client's flood of tiny requests neither delays another client's echo past the ping timeout nor kills a peer", async () => {
    // The flooder child writes one batch of pre-encoded frames over and over, which sealed frames (one nonce each)
    // cannot be: this swarm and this process speak plaintext, the benchmarks' switch. Fairness is the dispatcher's,
    // whatever the cipher costs.
    process.env[INSECURE_PLAINTEXT_ENV] = '1';
    onTestFinished(() => {
      delete process.env[INSECURE_PLAINTEXT_ENV];
    });
    swarm = new Swarm();
    const a = await swarm.start();
    const b = await swarm.start(['--join', a.url]);
    const c = await swarm.start(['--join', a.url]);
    for (let i = 0; i < 50 && (await swarm.members(a)).filter((p) => p.state === 'alive').length < 3; i++) await sleep(100);
    const { pingTimeoutMs, indirectTimeoutMs, suspicionTimeoutMs } = DEFAULT_PARTICIPATION_OPTIONS;
    const deathAfterMs = pingTimeoutMs + indirectTimeoutMs + suspicionTimeoutMs;

    // The flooder: a raw socket writing pre-encoded echo requests as fast as the daemon takes them, for floodMs.
    const flood = new WebSocket(a.url, { maxPayload: PRE_AUTH_MAX_PAYLOAD, perMessageDeflate: false });
    flood.on('error', () => {});
    await new Promise((r) => flood.once('open', r));
    await initiateHandshake(flood, { swarmKey: swarm.key, identity: generateIdentity(), role: 'client' }, () => undefined);
    // The flood runs in a child process that gets the authenticated socket, so that the probe below measures the
    // daemon, not this process's own event loop busy with the flooder.
    const floodMs = 6000;
    const flooder = spawn(process.execPath, ['-e', FLOODER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    flooder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const flooded = new Promise<void>((r) => flooder.once('exit', () => r()));
    flooder.send({ frames: echoFrames(1000).toString('base64'), ms: floodMs }, (flood as unknown as { _socket: Socket })._socket);
    const probe = await swarm.client(a);
    const rtts: number[] = [];
    const probeEnd = Date.now() + floodMs;
    while (Date.now() < probeEnd) {
      const t0 = performance.now();
      await probe.request({ t: 'echo', value: 'probe' }, 10_000);
      rtts.push(performance.now() - t0);
      await sleep(50);
    }
    await flooded;
    flood.terminate();
    const { requests, replies } = JSON.parse(out) as { requests: number; replies: number };
    const suspicions = [a, b, c].map((d) => (d.stderr().match(/suspected/g) ?? []).length);
    console.log(`suspicions logged by the three daemons: ${suspicions.join(", ")}`);
    const sorted = [...rtts].sort((x, y) => x - y);
    const p50 = sorted[Math.floor(sorted.length / 2)]!;
    const p90 = sorted[Math.floor(sorted.length * 0.9)]!;
    const max = sorted[sorted.length - 1]!;
    console.log(`flood: ${requests} requests in ${floodMs} ms, ${(replies / MB).toFixed(1)} MiB of replies read; probe echo RTT p50 ${p50.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${rtts.length} probes (bounds: p50 ${pingTimeoutMs} ms, max ${deathAfterMs} ms)`);
    expect(requests).toBeGreaterThan(60_000);
    // The failure detector's pings come back within pingTimeoutMs as a rule. Still open (issue 15): single waits of
    // 0.6-1.4 s about a second into the flood, near deathAfterMs (ping, indirect probes, suspicion); the per-turn
    // budget alone does not remove them, so `max < deathAfterMs` is not asserted yet.
    expect(p50).toBeLessThan(pingTimeoutMs);
    for (const d of [a, b, c]) expect(d.stderr()).not.toMatch(/declared dead/);
    for (const d of [a, b, c]) expect((await swarm.members(d)).filter((p) => p.state === 'alive').length).toBe(3);
  });
});

/** `n` echo requests as unmasked-payload WebSocket frames (an all-zero masking key, as ppp2p clients send them). */
function echoFrames(n: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = encodeFrame({ t: 'echo', id: i + 1, value: i });
    frames.push(Buffer.from([0x82, 0x80 | body.length, 0, 0, 0, 0]), body);
  }
  return Buffer.concat(frames);
}

/** The flooder child: writes the batch of frames it is given to the socket it is given, as fast as it drains, for `ms`. */
const FLOODER = `
process.once('message', (m, sock) => {
  const frames = Buffer.from(m.frames, 'base64');
  let replies = 0, requests = 0;
  sock.on('data', (d) => { replies += d.length; });
  sock.on('error', () => {});
  let done = false;
  setTimeout(() => {
    done = true;
    process.stdout.write(JSON.stringify({ requests, replies }));
    sock.destroy();
    process.disconnect();
  }, m.ms);
  const step = () => {
    if (done || sock.destroyed) return;
    requests += 1000;
    if (sock.write(frames)) setImmediate(step); else sock.once('drain', step);
  };
  step();
});
`;
