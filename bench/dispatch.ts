/**
 * bench/dispatch: how fast a virtual computer dispatches trivial threads, side by side in one run with
 * - a raw worker_threads pool (what piscina does; piscina itself is not a dependency) running the same
 *   trivial task on as many threads as the virtual computer has slots, and
 * - raw ws + msgpackr request/response on loopback (the floor under any protocol round trip).
 *
 * ```sh
 * npx tsx --conditions=ppp2p-source bench/dispatch.ts [--threads 20000] [--round-trips 1000] [--workers 2] [--slots-per-worker 1]
 *   [--sandboxes off,strict] [--rotations 1]
 * ```
 * Prints one JSON object. Goals (issue 3): >= 2,000 threads/s pipelined, <= 2 ms p50 round trip. With several
 * `--sandboxes`, the virtual computer runs once per mode per rotation, alternating, and `sandboxes` holds each
 * mode's median with its ratio to `off` (issue 16: `strict` >= 50% of `off`), plus the cold start of one sandboxed
 * executor process (spawn to runtime loaded) measured directly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import { VirtualComputer } from '../src/client/index.ts';
import { planSandbox } from '../src/daemon/host/sandbox.ts';
import { ExecutorProcess } from '../src/daemon/host/sandboxed-executor.ts';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '20000' },
    'round-trips': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    'slots-per-worker': { type: 'string', default: '1' },
    sandboxes: { type: 'string', default: 'off' },
    rotations: { type: 'string', default: '1' },
  },
  strict: true,
});
const THREADS = Number(values.threads);
const ROUND_TRIPS = Number(values['round-trips']);
const WORKERS = Number(values.workers);
const SLOTS = Number(values['slots-per-worker']);
const SANDBOXES = values.sandboxes.split(',') as ('off' | 'process' | 'strict')[];
const ROTATIONS = Number(values.rotations);

interface Latency {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(4));
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

async function measure(pipelined: (n: number) => Promise<void>, once: () => Promise<void>, n: number, trips: number): Promise<{ perSecond: number } & Latency> {
  // Warm-up: JIT, loaders, caches.
  await pipelined(Math.min(2000, n));
  for (let i = 0; i < 100; i++) await once();
  const started = performance.now();
  await pipelined(n);
  const perSecond = Math.round(n / ((performance.now() - started) / 1000));
  const samples: number[] = [];
  for (let i = 0; i < trips; i++) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  return { perSecond, ...latency(samples) };
}

/** The thread function: built code registers its exports; this one is written out as `ppp2p build` would emit it. */
async function threadModule(): Promise<{ noop: (i: number) => Promise<number> }> {
  const dir = join(import.meta.dirname, 'results/tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'dispatch-thread.mjs');
  writeFileSync(
    file,
    "import { registerExport } from 'ppp2p/runtime';\nexport async function noop(i) { return i; }\nregisterExport(noop, import.meta.url, 'noop');\n",
  );
  return (await import(pathToFileURL(file).href)) as { noop: (i: number) => Promise<number> };
}

async function benchVirtualComputer(sandbox: 'off' | 'process' | 'strict' = 'off'): Promise<{ perSecond: number } & Latency> {
  const { noop } = await threadModule();
  const vc = await VirtualComputer.create({ workers: WORKERS, slotsPerWorker: SLOTS, sandbox });
  try {
    return await measure(
      async (n) => {
        const all: Promise<number>[] = [];
        for (let i = 0; i < n; i++) all.push(vc.spawn(noop, i).result);
        await Promise.all(all);
      },
      async () => {
        await vc.spawn(noop, 1).result;
      },
      THREADS,
      ROUND_TRIPS,
    );
  } finally {
    await vc.close();
  }
}

/** A minimal worker_threads pool: one task per worker at a time, FIFO queue — piscina's core loop. */
async function benchWorkerPool(size: number): Promise<{ perSecond: number } & Latency> {
  const code = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, value: m.value }));`;
  const workers = Array.from({ length: size }, () => new Worker(code, { eval: true }));
  const idle = [...workers];
  const queue: { id: number; value: number }[] = [];
  const pending = new Map<number, () => void>();
  let nextId = 0;
  const pump = (): void => {
    while (idle.length > 0 && queue.length > 0) idle.pop()!.postMessage(queue.shift());
  };
  for (const w of workers) {
    w.on('message', (m: { id: number }) => {
      idle.push(w);
      pending.get(m.id)?.();
      pending.delete(m.id);
      pump();
    });
  }
  const run = (value: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      queue.push({ id, value });
      pump();
    });
  try {
    return await measure(
      async (n) => {
        const all: Promise<void>[] = [];
        for (let i = 0; i < n; i++) all.push(run(i));
        await Promise.all(all);
      },
      () => run(1),
      THREADS,
      ROUND_TRIPS,
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Raw ws + msgpackr request/response on loopback: the same message shape as a spawn, echoed. */
async function benchRawWs(): Promise<{ perSecond: number } & Latency> {
  const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => server.once('listening', () => r()));
  server.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(packr.pack({ t: 'thread-result', ...(packr.unpack(data) as object) }))));
  const port = (server.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise<void>((r) => ws.once('open', () => r()));
  const pending = new Map<number, () => void>();
  ws.on('message', (data: Buffer) => {
    const m = packr.unpack(data) as { thread: number };
    pending.get(m.thread)?.();
    pending.delete(m.thread);
  });
  let next = 0;
  const call = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const thread = next++;
      pending.set(thread, resolve);
      ws.send(packr.pack({ t: 'exec', vc: 'abcdef0123456789', thread, fn: 'noop', args: [thread] }));
    });
  try {
    return await measure(
      async (n) => {
        const all: Promise<void>[] = [];
        for (let i = 0; i < n; i++) all.push(call());
        await Promise.all(all);
      },
      call,
      THREADS,
      ROUND_TRIPS,
    );
  } finally {
    ws.close();
    server.close();
  }
}

/** Spawn to runtime loaded, of one sandboxed executor process, `n` times. */
async function executorColdStart(mode: 'process' | 'strict', n: number): Promise<Latency> {
  const plan = planSandbox(mode, false);
  const dir = join(import.meta.dirname, 'results/tmp/executor');
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = new ExecutorProcess(plan, { heapMb: 512, memoryMb: 2048, outputBytes: 1 << 20 }, 'ab'.repeat(16), dir);
    await p.booted;
    samples.push(performance.now() - t0);
    p.kill();
  }
  return latency(samples);
}

const perMode = new Map<string, ({ perSecond: number } & Latency)[]>();
for (let r = 0; r < ROTATIONS; r++) {
  for (const mode of r % 2 === 0 ? SANDBOXES : [...SANDBOXES].reverse()) {
    const m = await benchVirtualComputer(mode);
    perMode.set(mode, [...(perMode.get(mode) ?? []), m]);
    process.stderr.write(`dispatch ${mode}: ${m.perSecond} threads/s, p50 ${m.p50Ms} ms\n`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sandboxes: Record<string, { threadsPerSecond: number; runs: number[]; roundTripP50Ms: number; executorColdStart?: Latency; vsOff?: number }> = {};
for (const [mode, runs] of perMode) {
  sandboxes[mode] = {
    threadsPerSecond: median(runs.map((x) => x.perSecond)),
    runs: runs.map((x) => x.perSecond),
    roundTripP50Ms: median(runs.map((x) => x.p50Ms)),
    ...(mode !== 'off' ? { executorColdStart: await executorColdStart(mode as 'process' | 'strict', 5) } : {}),
  };
}
const offRate = sandboxes.off?.threadsPerSecond;
for (const s of Object.values(sandboxes)) {
  if (offRate !== undefined) s.vsOff = Number((s.threadsPerSecond / offRate).toFixed(3));
}
const vc = perMode.get(SANDBOXES[0]!)!.at(-1)!;
const pool = await benchWorkerPool(WORKERS * SLOTS);
const raw = await benchRawWs();
const goals = { threadsPerSecond: 2000, p50Ms: 2 };
const result = {
  bench: 'dispatch',
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
  params: { threads: THREADS, roundTrips: ROUND_TRIPS, workers: WORKERS, slotsPerWorker: SLOTS, sandboxes: SANDBOXES, rotations: ROTATIONS },
  sandboxes,
  virtualComputer: { threadsPerSecond: vc.perSecond, roundTrip: { p50Ms: vc.p50Ms, p95Ms: vc.p95Ms, p99Ms: vc.p99Ms } },
  workerThreadsPool: { size: WORKERS * SLOTS, tasksPerSecond: pool.perSecond, roundTrip: { p50Ms: pool.p50Ms, p95Ms: pool.p95Ms, p99Ms: pool.p99Ms } },
  rawWsMsgpackr: { requestsPerSecond: raw.perSecond, roundTrip: { p50Ms: raw.p50Ms, p95Ms: raw.p95Ms, p99Ms: raw.p99Ms } },
  ratios: {
    throughputVsPool: Number((vc.perSecond / pool.perSecond).toFixed(3)),
    throughputVsRawWs: Number((vc.perSecond / raw.perSecond).toFixed(3)),
    p50VsPool: Number((vc.p50Ms / pool.p50Ms).toFixed(1)),
    p50VsRawWs: Number((vc.p50Ms / raw.p50Ms).toFixed(1)),
  },
  goals: {
    ...goals,
    threadsPerSecondMet: vc.perSecond >= goals.threadsPerSecond,
    p50Met: vc.p50Ms <= goals.p50Ms,
  },
};
console.log(JSON.stringify(result, null, 2));
