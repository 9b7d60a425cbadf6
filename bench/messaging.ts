/**
 * bench/messaging: message passing between two virtual threads on different peers, side by side in one run with
 * raw ws + msgpackr between two processes on loopback (the floor under any message over a socket), and the
 * throughput of `globals.update` from 4 threads on 2 peers.
 *
 * ```sh
 * npx tsx --conditions=ppp2p-source bench/messaging.ts [--messages-1k 20000] [--messages-64k 2000] [--pings 2000] [--repeats 3] [--updates 500] [--mailbox 256]
 *   [--no-receiver-checkpoints]
 * ```
 * `--messages-64k 0` measures 1 KB only. Diagnosis: `BENCH_PEER_NODE_ARGS` / `BENCH_PEER_STDOUT` (bench/peer-diagnosis.ts). `PPP2P_BENCH_SANDBOX=off|process|strict`: the peers' sandbox (issue 16 compares strict with off).
 * Prints one JSON object. Goals (issue 5): >= 50% of raw ws+msgpackr throughput, p50 one-way <= 0.3 ms.
 *
 * Set-up: three peer processes on loopback: a controller that runs no threads (the application's, the owner) and
 * two workers with one slot each (two slots each for the globals part), so the two threads of a pair always run
 * on different peers and the owner is not on the messages' path. Throughput: the sender sends n payloads as fast as
 * its mailbox window lets it; time from its first send to the receiver's last receive. Ours and raw run back to back,
 * `--repeats` times in alternating order, and the repeat with the median ratio is reported with the range (this VM's
 * speed drifts by up to 1.7x over tens of seconds, so only neighbouring runs compare). Latency: ping-pong, one
 * message in flight; one-way = receive time minus the stamp the sender put in the message (process.hrtime is one
 * monotonic clock for all processes of the machine); `--pings` round trips are measured after as many of warm-up,
 * whose own p50 is reported too (`firstPingsP50Ms`: code on a message's path runs once per message, so V8
 * optimizes it only after a few thousand). The receiving threads offer a checkpoint after each message, as
 * real receivers do (the default policy takes one a second); without them (`--no-receiver-checkpoints`) nothing
 * lets the sender trim its outbox, which then sits at its 64 MB cap. CPU per message (or per round trip) of each
 * worker peer comes from /proc (Linux), split into the daemon's main thread, the executor (the busiest other
 * thread) and the rest (V8's and libuv's helper threads); `BENCH_CPU_THREADS=1` prints every thread's share.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { Packr } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import { VirtualComputer } from '../src/client/index.ts';
import { zeroMask } from '../src/protocol/connection.ts';
import { startPeerProcess, type PeerProcess } from '../src/client/peer-process.ts';
import { buildProject, formatDiagnostic } from '../src/build/index.ts';
import type * as BenchThreads from './messaging-threads/threads.ts';
import { peerDiagnosis } from './peer-diagnosis.ts';
import { childNodeOptions } from '../src/protocol/package-files.ts';

const KB = 1024;
/** How the peers isolate threads (PPP2P_BENCH_SANDBOX=off|process|strict; default: the peers' own default). */
const SANDBOX = process.env.PPP2P_BENCH_SANDBOX as 'off' | 'process' | 'strict' | undefined;
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

// ── raw ws + msgpackr: the receiving process ─────────────────────────────────────────────────────

if (process.argv.includes('--raw-receiver')) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  server.on('connection', (ws) => {
    let expected = 0;
    let got = 0;
    ws.on('message', (data: Buffer) => {
      const m = packr.unpack(data) as { k: 'start'; n: number } | { k: 'tp'; pad: Uint8Array } | { k: 'ping'; t: number; pad: Uint8Array };
      if (m.k === 'start') {
        expected = m.n;
        got = 0;
        ws.send(packr.pack({ k: 'ready' }));
      } else if (m.k === 'tp') {
        if (++got === expected) ws.send(packr.pack({ k: 'done', at: nowMs() }));
      } else {
        ws.send(packr.pack({ k: 'pong', oneWay: nowMs() - m.t }));
      }
    });
  });
  server.once('listening', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
} else {
  await main();
}

// ── the bench ────────────────────────────────────────────────────────────────────────────────────

interface Throughput {
  messagesPerSecond: number;
  megabytesPerSecond: number;
}
interface Latency {
  p50Ms: number;
  p99Ms: number;
}

function percentiles(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(4));
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

function throughput(n: number, bytes: number, ms: number): Throughput {
  return { messagesPerSecond: Math.round(n / (ms / 1000)), megabytesPerSecond: Number(((n * bytes) / (1024 * 1024) / (ms / 1000)).toFixed(1)) };
}

/** Raw ws + msgpackr to a receiver process: the floor under any message over a socket. */
interface RawLink {
  /** Sends `count` payloads as fast as the socket takes them; ms from the first send to the receiver's last receive. */
  throughput(bytes: number, count: number): Promise<number>;
  /** `count` ping-pongs, one in flight; one-way ms of each. */
  pingPong(bytes: number, count: number): Promise<number[]>;
  close(): void;
}

async function openRaw(): Promise<RawLink> {
  const child = spawn(process.execPath, [...childNodeOptions(), fileURLToPath(import.meta.url), '--raw-receiver'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))));
  // Configured as ppp2p's own connections are (connection.ts): no compression, unmasked client frames.
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, generateMask: zeroMask });
  await new Promise<void>((r) => ws.once('open', () => r()));
  let waiter: ((m: { k: string; at?: number; oneWay?: number }) => void) | undefined;
  ws.on('message', (data: Buffer) => waiter?.(packr.unpack(data) as { k: string }));
  const next = (): Promise<{ k: string; at?: number; oneWay?: number }> => new Promise((r) => (waiter = r));
  const drained = async (): Promise<void> => {
    while (ws.bufferedAmount > 8 * 1024 * 1024) await new Promise((r) => setImmediate(r));
  };
  return {
    async throughput(bytes, count) {
      const pad = new Uint8Array(bytes).fill(7);
      ws.send(packr.pack({ k: 'start', n: count }));
      await next();
      const done = next();
      const started = nowMs();
      for (let i = 0; i < count; i++) {
        ws.send(packr.pack({ k: 'tp', pad }));
        if (i % 64 === 63) await drained();
      }
      return (await done).at! - started;
    },
    async pingPong(bytes, count) {
      const pad = new Uint8Array(bytes).fill(7);
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const pong = next();
        ws.send(packr.pack({ k: 'ping', t: nowMs(), pad }));
        samples.push((await pong).oneWay!);
      }
      return samples;
    },
    close() {
      ws.close();
      child.stdin!.end();
    },
  };
}

// ── CPU per message from /proc (exact, and independent of what else the machine runs) ─────────────

/** CPU ns of each thread of a process (Linux: schedstat's first field); empty elsewhere. */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

interface CpuSplit {
  /** The daemon's main thread (its event loop: sockets, mailboxes, proxies). */
  daemonUs: number;
  /** The busiest other thread: the executor slot running the virtual thread. */
  executorUs: number;
  /** Every other thread: V8's platform threads (GC, compilation) and libuv's. */
  helpersUs: number;
}

/** Runs `fn` and returns the CPU per unit (µs) of each peer, split by kind of thread. */
async function cpuPer<T>(peers: PeerProcess[], units: number, fn: () => Promise<T>): Promise<{ result: T; cpu: Map<string, CpuSplit> }> {
  const before = peers.map((p) => threadCpu(p.pid));
  const result = await fn();
  const cpu = new Map<string, CpuSplit>();
  peers.forEach((p, i) => {
    const deltas: [number, number][] = [...threadCpu(p.pid)].map(([tid, ns]) => [tid, ns - (before[i]!.get(tid) ?? 0)]);
    const us = (ns: number): number => Number((ns / 1000 / units).toFixed(1));
    const daemon = deltas.find(([tid]) => tid === p.pid)?.[1] ?? 0;
    const others = deltas.filter(([tid]) => tid !== p.pid).sort((a, b) => b[1] - a[1]);
    const executor = others[0]?.[1] ?? 0;
    const helpers = others.slice(1).reduce((n, [, ns]) => n + ns, 0);
    if (process.env.BENCH_CPU_THREADS === '1') process.stderr.write(`${p.peerId}: µs per unit by thread ${JSON.stringify(deltas.filter(([, ns]) => ns > 0).map(([tid, ns]) => [tid === p.pid ? 'main' : tid, us(ns)]))}\n`);
    cpu.set(p.peerId, { daemonUs: us(daemon), executorUs: us(executor), helpersUs: us(helpers) });
  });
  return { result, cpu };
}

function total(c: CpuSplit | undefined): number {
  return c === undefined ? 0 : Number((c.daemonUs + c.executorUs + c.helpersUs).toFixed(1));
}

async function startSwarm(slots: number[]): Promise<{ peers: PeerProcess[]; key: Buffer; dir: string }> {
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), 'ppp2p-bench-messaging-'));
  const peers: PeerProcess[] = [];
  for (const [i, s] of slots.entries()) {
    peers.push(
      await startPeerProcess(
        {
          swarmKey: key.toString('base64'),
          join: peers.length === 0 ? [] : [peers[0]!.url],
          slots: s,
          dataDir: join(dir, `peer-${i}`),
          logLevel: 'error',
          sandbox: SANDBOX,
          trustedSwarm: SANDBOX === 'off',
        },
        peerDiagnosis(i),
      ),
    );
  }
  return { peers, key, dir };
}

/** Two virtual threads on two worker peers of a swarm whose controller runs none. */
interface VirtualLink {
  workers: PeerProcess[];
  throughput(bytes: number, count: number): Promise<{ ms: number; source: string | undefined; sink: string | undefined }>;
  pingPong(bytes: number, count: number): Promise<{ samples: number[]; sender: string | undefined }>;
  close(): Promise<void>;
}

async function openVirtual(fx: typeof BenchThreads, mailboxSize: number, receiverCheckpoints: boolean): Promise<VirtualLink> {
  const swarm = await startSwarm([0, 1, 1]);
  const stopSwarm = async (): Promise<void> => {
    await Promise.all(swarm.peers.map((p) => p.stop()));
    rmSync(swarm.dir, { recursive: true, force: true });
  };
  let vc: VirtualComputer;
  try {
    vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 2, mailboxSize, enrolTimeoutMs: 10_000 });
  } catch (err) {
    await stopSwarm();
    throw err;
  }
  // A probe thread tells the next thread id: the receiving thread gets it, the sending one the one after.
  const nextId = async (): Promise<number> => {
    const probe = vc.spawn(fx.updater, 'bench-probe', 0);
    await probe.result;
    return probe.id + 1;
  };
  return {
    workers: swarm.peers.slice(1),
    async throughput(bytes, count) {
      const sinkId = await nextId();
      const sink = vc.spawn(fx.sink, sinkId + 1, count, receiverCheckpoints);
      const source = vc.spawn(fx.source, sinkId, count, bytes);
      const [last, started] = await Promise.all([sink.result, source.result]);
      if (sink.host === source.host) throw new Error('the pair ran on one peer');
      return { ms: last - started, source: source.host, sink: sink.host };
    },
    async pingPong(bytes, count) {
      const pongId = await nextId();
      const ponger = vc.spawn(fx.ponger, pongId + 1, count, receiverCheckpoints);
      const pinger = vc.spawn(fx.pinger, pongId, count, bytes);
      return { samples: (await Promise.all([ponger.result, pinger.result]))[0], sender: pinger.host };
    },
    async close() {
      await vc.close().catch(() => {});
      await stopSwarm();
    },
  };
}

interface SizeResult {
  virtualThreads: Throughput &
    Latency & {
      /** p50 of the first `pings` round trips of this payload (the warm-up of the latency path, after the throughput runs). */
      firstPingsP50Ms: number;
      cpuUsPerMessage: { sender: CpuSplit | undefined; receiver: CpuSplit | undefined; total: number };
      cpuUsPerRoundTrip: { pinger: CpuSplit | undefined; ponger: CpuSplit | undefined };
    };
  raw: Throughput & Latency;
  /** Ours over raw, of the repeat with the median ratio, and the lowest and highest ratio over all repeats. */
  throughputVsRaw: number;
  throughputVsRawRange: [number, number];
}

/**
 * One payload size: throughput of ours and raw back to back, `repeats` times in alternating order (this VM's speed
 * drifts over tens of seconds, so a ratio is only fair between neighbouring runs), then latency.
 */
async function measureSize(ours: VirtualLink, raw: RawLink, bytes: number, n: number, pings: number, repeats: number): Promise<SizeResult> {
  await ours.throughput(bytes, Math.min(n, 2000)); // warm-up: code shipped, loaded, JIT-compiled
  await raw.throughput(bytes, Math.min(n, 2000));
  const runs: { ours: Throughput; raw: Throughput; ratio: number; cpu: SizeResult['virtualThreads']['cpuUsPerMessage'] }[] = [];
  for (let r = 0; r < repeats; r++) {
    const measureOurs = (): Promise<{ result: Awaited<ReturnType<VirtualLink['throughput']>>; cpu: Map<string, CpuSplit> }> =>
      cpuPer(ours.workers, n, () => ours.throughput(bytes, n));
    let mine: Awaited<ReturnType<typeof measureOurs>>;
    let rawMs: number;
    if (r % 2 === 0) {
      mine = await measureOurs();
      rawMs = await raw.throughput(bytes, n);
    } else {
      rawMs = await raw.throughput(bytes, n);
      mine = await measureOurs();
    }
    const a = throughput(n, bytes, mine.result.ms);
    const b = throughput(n, bytes, rawMs);
    const sender = mine.cpu.get(mine.result.source ?? '');
    const receiver = mine.cpu.get(mine.result.sink ?? '');
    runs.push({ ours: a, raw: b, ratio: a.messagesPerSecond / b.messagesPerSecond, cpu: { sender, receiver, total: Number((total(sender) + total(receiver)).toFixed(1)) } });
  }
  const byRatio = [...runs].sort((x, y) => x.ratio - y.ratio);
  const median = byRatio[Math.floor((byRatio.length - 1) / 2)]!;
  const first = await ours.pingPong(bytes, pings); // warm-up of the latency path's code
  const { result: pp, cpu: ppCpu } = await cpuPer(ours.workers, pings, () => ours.pingPong(bytes, pings));
  await raw.pingPong(bytes, 100);
  const rawSamples = await raw.pingPong(bytes, pings);
  const round = (x: number): number => Number(x.toFixed(3));
  return {
    virtualThreads: {
      ...median.ours,
      ...percentiles(pp.samples),
      firstPingsP50Ms: percentiles(first.samples).p50Ms,
      cpuUsPerMessage: median.cpu,
      cpuUsPerRoundTrip: { pinger: ppCpu.get(pp.sender ?? ''), ponger: [...ppCpu].find(([id]) => id !== pp.sender)?.[1] },
    },
    raw: { ...median.raw, ...percentiles(rawSamples) },
    throughputVsRaw: round(median.ratio),
    throughputVsRawRange: [round(byRatio[0]!.ratio), round(byRatio[byRatio.length - 1]!.ratio)],
  };
}

async function globalsUpdates(fx: typeof BenchThreads, updates: number): Promise<{ opsPerSecond: number; threads: number; peers: number; final: number }> {
  const swarm = await startSwarm([0, 2, 2]);
  try {
    const vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 2, enrolTimeoutMs: 10_000 });
    try {
      await Promise.all(Array.from({ length: 4 }, () => vc.spawn(fx.updater, 'warm', 50).result));
      const started = performance.now();
      const threads = Array.from({ length: 4 }, () => vc.spawn(fx.updater, 'counter', updates));
      await Promise.all(threads.map((t) => t.result));
      const ms = performance.now() - started;
      const final = (await vc.globals.get<number>('counter')) ?? 0;
      if (final !== 4 * updates) throw new Error(`counter ended at ${final}, not ${4 * updates}`);
      return { opsPerSecond: Math.round((4 * updates) / (ms / 1000)), threads: 4, peers: new Set(threads.map((t) => t.host)).size, final };
    } finally {
      await vc.close();
    }
  } finally {
    await Promise.all(swarm.peers.map((p) => p.stop()));
    rmSync(swarm.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'messages-1k': { type: 'string', default: '20000' },
      'messages-64k': { type: 'string', default: '2000' },
      pings: { type: 'string', default: '2000' },
      repeats: { type: 'string', default: '3' },
      updates: { type: 'string', default: '500' },
      mailbox: { type: 'string', default: '256' },
      'no-receiver-checkpoints': { type: 'boolean', default: false },
      'raw-receiver': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const count = (flag: string, min: number): number => {
    const v = Number(values[flag as keyof typeof values]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${flag} must be an integer >= ${min}, got '${String(values[flag as keyof typeof values])}'`);
    return v;
  };
  const sizes = [
    { bytes: KB, n: count('messages-1k', 0) },
    { bytes: 64 * KB, n: count('messages-64k', 0) },
  ].filter((s) => s.n > 0); // `--messages-64k 0` measures 1 KB only
  const pings = count('pings', 1);
  const repeats = count('repeats', 1);
  const updatesPerThread = count('updates', 1);
  const mailboxSize = count('mailbox', 1);
  const outDir = join(import.meta.dirname, '.out/messaging');
  const { diagnostics } = buildProject({ rootDir: join(import.meta.dirname, 'messaging-threads'), outDir });
  if (diagnostics.length > 0) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  const fx = (await import(pathToFileURL(join(outDir, 'threads.js')).href)) as typeof BenchThreads;

  const loadBefore = loadavg()[0]!;
  const receiverCheckpoints = !values['no-receiver-checkpoints'];
  const measured: Record<string, SizeResult> = {};
  const ours = await openVirtual(fx, mailboxSize, receiverCheckpoints);
  try {
    const raw = await openRaw();
    try {
      for (const { bytes, n } of sizes) measured[`${bytes / KB}KB`] = await measureSize(ours, raw, bytes, n, pings, repeats);
    } finally {
      raw.close();
    }
  } finally {
    await ours.close();
  }
  const updates = await globalsUpdates(fx, updatesPerThread);
  const goals = { throughputVsRaw: 0.5, p50OneWayMs: 0.3 };
  const each = <T>(f: (m: SizeResult) => T): Record<string, T> => Object.fromEntries(Object.entries(measured).map(([k, m]) => [k, f(m)]));
  const result = {
    bench: 'messaging',
    // Other work on the machine slows the virtual threads' four threads per message path more than raw ws's two.
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage1m: { before: loadBefore, after: loadavg()[0]! } },
    params: { messages1KB: sizes.find((s) => s.bytes === KB)?.n ?? 0, messages64KB: sizes.find((s) => s.bytes === 64 * KB)?.n ?? 0, pings, repeats, updatesPerThread, mailboxSize, receiverCheckpoints },
    // Throughput: the repeat whose ratio to raw is the median. Latency (p50Ms, p99Ms): `pings` round trips measured
    // after `pings` more of warm-up; firstPingsP50Ms is that warm-up's own p50.
    virtualThreads: each((m) => m.virtualThreads),
    rawWsMsgpackr: each((m) => m.raw),
    ratios: each((m) => ({ throughputVsRaw: m.throughputVsRaw, throughputVsRawRange: m.throughputVsRawRange, p50VsRaw: Number((m.virtualThreads.p50Ms / m.raw.p50Ms).toFixed(3)) })),
    globalsUpdate: updates,
    goals: {
      ...goals,
      met: each((m) => ({ throughput: m.throughputVsRaw >= goals.throughputVsRaw, p50: m.virtualThreads.p50Ms <= goals.p50OneWayMs })),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
