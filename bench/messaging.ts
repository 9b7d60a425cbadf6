/**
 * bench/messaging: message passing between two virtual threads on different peers, side by side in one run with
 * raw ws + msgpackr between two processes on loopback (the floor under any message over a socket), and the
 * throughput of `globals.update` from 4 threads on 2 peers.
 *
 * ```sh
 * npx tsx bench/messaging.ts [--messages-1k 20000] [--messages-64k 2000] [--pings 1000] [--updates 500] [--mailbox 256] [--no-receiver-checkpoints]
 * ```
 * `--messages-64k 0` measures 1 KB only. Diagnosis: `BENCH_PEER_NODE_ARGS` / `BENCH_PEER_STDOUT` (bench/peer-diagnosis.ts).
 * Prints one JSON object. Goals (issue 5): >= 50% of raw ws+msgpackr throughput, p50 one-way <= 0.3 ms.
 *
 * Set-up: three peer processes on loopback: a controller that runs no threads (the application's, the owner) and
 * two workers with one slot each (two slots each for the globals part), so the two threads of a pair always run
 * on different peers and the owner is not on the messages' path. Throughput: the sender sends n payloads as fast as
 * its mailbox window lets it; time from its first send to the receiver's last receive. Latency: ping-pong, one
 * message in flight; one-way = receive time minus the stamp the sender put in the message (process.hrtime is one
 * monotonic clock for all processes of the machine). The receiving threads offer a checkpoint after each message, as
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
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { Packr } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import { VirtualComputer } from '../sdk/index.ts';
import { zeroMask } from '../peer-controller/connection.ts';
import { startPeerProcess, type PeerProcess } from '../peer-controller/embedded-peer.ts';
import { buildProject, formatDiagnostic } from '../preprocessor/index.ts';
import type * as BenchThreads from './messaging-threads/threads.ts';
import { peerDiagnosis } from './peer-diagnosis.ts';

const KB = 1024;
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

async function rawWs(sizes: { bytes: number; n: number }[], pings: number): Promise<Record<string, Throughput & Latency>> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(import.meta.url), '--raw-receiver'], { stdio: ['pipe', 'pipe', 'inherit'] });
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
  const out: Record<string, Throughput & Latency> = {};
  try {
    for (const { bytes, n } of sizes) {
      const pad = new Uint8Array(bytes).fill(7);
      const run = async (count: number): Promise<number> => {
        ws.send(packr.pack({ k: 'start', n: count }));
        await next();
        const done = next();
        const started = nowMs();
        for (let i = 0; i < count; i++) {
          ws.send(packr.pack({ k: 'tp', pad }));
          if (i % 64 === 63) await drained();
        }
        return (await done).at! - started;
      };
      await run(Math.min(n, 2000)); // warm-up
      const ms = await run(n);
      const samples: number[] = [];
      for (let i = 0; i < pings + 100; i++) {
        const pong = next();
        ws.send(packr.pack({ k: 'ping', t: nowMs(), pad }));
        const m = await pong;
        if (i >= 100) samples.push(m.oneWay!);
      }
      out[`${bytes / KB}KB`] = { ...throughput(n, bytes, ms), ...percentiles(samples) };
    }
  } finally {
    ws.close();
    child.stdin!.end();
  }
  return out;
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
        { swarmKey: key.toString('base64'), join: peers.length === 0 ? [] : [peers[0]!.url], slots: s, dataDir: join(dir, `peer-${i}`), logLevel: 'error' },
        peerDiagnosis(i),
      ),
    );
  }
  return { peers, key, dir };
}

type Measured = Throughput & Latency & { cpuUsPerMessage?: unknown; cpuUsPerRoundTrip?: unknown };

async function virtualThreads(fx: typeof BenchThreads, sizes: { bytes: number; n: number }[], pings: number, mailboxSize: number, receiverCheckpoints: boolean): Promise<Record<string, Measured>> {
  const swarm = await startSwarm([0, 1, 1]);
  const out: Record<string, Measured> = {};
  try {
    const vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 2, mailboxSize, enrolTimeoutMs: 10_000 });
    try {
      for (const { bytes, n } of sizes) {
        // A probe thread tells the next thread id: the sink gets it, the source the one after.
        const measure = async (count: number): Promise<{ ms: number; hosts: Set<string | undefined>; source: string | undefined; sink: string | undefined }> => {
          const probe = vc.spawn(fx.updater, 'bench-probe', 0);
          await probe.result;
          const sinkId = probe.id + 1;
          const sink = vc.spawn(fx.sink, sinkId + 1, count, receiverCheckpoints);
          const source = vc.spawn(fx.source, sinkId, count, bytes);
          const [last, started] = await Promise.all([sink.result, source.result]);
          return { ms: last - started, hosts: new Set([sink.host, source.host]), source: source.host, sink: sink.host };
        };
        await measure(Math.min(n, 2000)); // warm-up: code shipped, loaded, JIT-compiled
        const workers = swarm.peers.slice(1);
        const { result: run, cpu: tpCpu } = await cpuPer(workers, n, () => measure(n));
        const { ms, hosts } = run;
        if (hosts.size !== 2) throw new Error('the pair ran on one peer');
        const pingPong = async (count: number): Promise<{ samples: number[]; sender: string | undefined }> => {
          const probe = vc.spawn(fx.updater, 'bench-probe', 0);
          await probe.result;
          const pongId = probe.id + 1;
          const ponger = vc.spawn(fx.ponger, pongId + 1, count, receiverCheckpoints);
          const pinger = vc.spawn(fx.pinger, pongId, count, bytes);
          return { samples: (await Promise.all([ponger.result, pinger.result]))[0], sender: pinger.host };
        };
        await pingPong(Math.max(200, pings / 2)); // warm-up of the latency path's code
        const { result: pp, cpu: ppCpu } = await cpuPer(workers, pings, () => pingPong(pings));
        const sender = tpCpu.get(run.source ?? '');
        const receiver = tpCpu.get(run.sink ?? '');
        out[`${bytes / KB}KB`] = {
          ...throughput(n, bytes, ms),
          ...percentiles(pp.samples),
          cpuUsPerMessage: { sender, receiver, total: Number((total(sender) + total(receiver)).toFixed(1)) },
          cpuUsPerRoundTrip: { pinger: ppCpu.get(pp.sender ?? ''), ponger: [...ppCpu].find(([id]) => id !== pp.sender)?.[1] },
        };
      }
    } finally {
      await vc.close();
    }
  } finally {
    await Promise.all(swarm.peers.map((p) => p.stop()));
    rmSync(swarm.dir, { recursive: true, force: true });
  }
  return out;
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
      pings: { type: 'string', default: '1000' },
      updates: { type: 'string', default: '500' },
      mailbox: { type: 'string', default: '256' },
      'no-receiver-checkpoints': { type: 'boolean', default: false },
      'raw-receiver': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const sizes = [
    { bytes: KB, n: Number(values['messages-1k']) },
    { bytes: 64 * KB, n: Number(values['messages-64k']) },
  ].filter((s) => s.n > 0); // `--messages-64k 0` measures 1 KB only
  const pings = Number(values.pings);
  const outDir = join(import.meta.dirname, '.out/messaging');
  const { diagnostics } = buildProject({ rootDir: join(import.meta.dirname, 'messaging-threads'), outDir });
  if (diagnostics.length > 0) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  const fx = (await import(pathToFileURL(join(outDir, 'threads.js')).href)) as typeof BenchThreads;

  const loadBefore = loadavg()[0]!;
  const receiverCheckpoints = !values['no-receiver-checkpoints'];
  const ours = await virtualThreads(fx, sizes, pings, Number(values.mailbox), receiverCheckpoints);
  const raw = await rawWs(sizes, pings);
  const updates = await globalsUpdates(fx, Number(values.updates));
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
  const goals = { throughputVsRaw: 0.5, p50OneWayMs: 0.3 };
  const result = {
    bench: 'messaging',
    // Other work on the machine slows the virtual threads' four threads per message path more than raw ws's two.
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage1m: { before: loadBefore, after: loadavg()[0]! } },
    params: { messages1KB: Number(values['messages-1k']), messages64KB: Number(values['messages-64k']), pings, updatesPerThread: Number(values.updates), mailboxSize: Number(values.mailbox), receiverCheckpoints },
    virtualThreads: ours,
    rawWsMsgpackr: raw,
    ratios: Object.fromEntries(
      Object.keys(ours).map((k) => [
        k,
        { throughputVsRaw: ratio(ours[k]!.messagesPerSecond, raw[k]!.messagesPerSecond), p50VsRaw: ratio(ours[k]!.p50Ms, raw[k]!.p50Ms) },
      ]),
    ),
    globalsUpdate: updates,
    goals: {
      ...goals,
      met: Object.fromEntries(
        Object.keys(ours).map((k) => [
          k,
          { throughput: ours[k]!.messagesPerSecond / raw[k]!.messagesPerSecond >= goals.throughputVsRaw, p50: ours[k]!.p50Ms <= goals.p50OneWayMs },
        ]),
      ),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
