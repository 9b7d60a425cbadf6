/**
 * The inside of a sandboxed executor: a child process of the daemon (sandbox.ts starts it) that runs one owner's
 * threads, one at a time, each in a worker thread of its own, and relays that worker's messages over the IPC pipe.
 *
 * Why a worker inside the process: a thread that computes without ever yielding must still see the daemon's
 * snapshot requests and stop at its limits. The process's main thread stays free for both: it shares a flag with
 * the worker (as the daemon does with an unsandboxed slot), measures the process's CPU time and resident size
 * while a thread runs, and ends the worker when a limit is passed, reporting which. The process outlives its
 * threads (a warm executor starts the next thread of the same owner without a process start) and dies with the
 * daemon: a closed pipe ends it. It always runs compiled (package-files.ts compiledPackageFile says why).
 */
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../../runtime/worker-messages.ts';
import { threadWorkerEntry } from './frame-runner.ts';
import type { ResourceLimit } from '../../runtime/errors.ts';

/** What the daemon tells an executor process. */
export type ToExecutor =
  /** Start a fresh worker for the next thread, with these limits. */
  | { c: 'open'; gen: number; heapMb: number; memoryMb: number; cpuSeconds?: number }
  | { c: 'post'; m: ToWorker }
  | { c: 'snapshot' }
  /** End worker `gen` (the process stays), if it is still the current one. */
  | { c: 'close'; gen: number };

/** What an executor process tells the daemon. */
export type FromExecutor =
  | { c: 'booted' }
  | { c: 'msg'; gen: number; m: FromWorker }
  /** The worker is gone: ended by the daemon, crashed, or stopped at a limit (`limit` says which). `gen` names the
   * worker (the `open` that started it): an old worker's last words can arrive after the next one was opened. */
  | { c: 'exit'; gen: number; code: number; error?: { name: string; message: string; stack: string; code?: string }; limit?: { limit: ResourceLimit; message: string } };

/** How often the process looks at its CPU time and resident size while a thread runs. */
const WATCH_MS = 100;

function send(m: FromExecutor): void {
  process.send?.(m);
}

let worker: Worker | undefined;
let workerGen = 0;
let requests = new Int32Array(new SharedArrayBuffer(4));
let limits: Extract<ToExecutor, { c: 'open' }> | undefined;
/** CPU microseconds of the process when the running thread started; undefined between threads. */
let cpuAtStart: number | undefined;
let stopped: { limit: ResourceLimit; message: string } | undefined;

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function open(m: Extract<ToExecutor, { c: 'open' }>): void {
  void worker?.terminate();
  limits = m;
  stopped = undefined;
  cpuAtStart = undefined;
  requests = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(threadWorkerEntry, {
    // No execArgv: a worker given its own options leaves the permission model of its process behind (Node 20).
    resourceLimits: { maxOldGenerationSizeMb: m.heapMb },
    workerData: { snapshotRequests: requests },
  });
  worker = w;
  workerGen = m.gen;
  let error: Error | undefined;
  w.on('message', (msg: FromWorker) => {
    if (worker !== w) return;
    if (msg.type === 'result' || msg.type === 'error') cpuAtStart = undefined;
    if (msg.type === 'error' && msg.name === 'RangeError' && /allocation failed|Invalid (typed )?array (buffer )?length/i.test(msg.message)) {
      // An allocation the process's memory limit refused: the limit, not the thread, is what the owner must hear about.
      stop('memory', `an allocation failed at the executor's memory limit of ${limits?.memoryMb} MB (${msg.message})`);
      return;
    }
    send({ c: 'msg', gen: m.gen, m: msg });
  });
  w.on('error', (err) => (error = err));
  w.on('exit', (code) => {
    if (worker === w) worker = undefined;
    cpuAtStart = undefined;
    const e = error as (Error & { code?: string }) | undefined;
    const limit =
      stopped ??
      (e?.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { limit: 'heap' as const, message: `the thread exceeded its heap limit of ${limits?.heapMb} MB` }
        : undefined);
    send({
      c: 'exit',
      gen: m.gen,
      code,
      ...(e !== undefined ? { error: { name: e.name, message: e.message, stack: e.stack ?? '', ...(typeof e.code === 'string' ? { code: e.code } : {}) } } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
  });
}

function stop(limit: ResourceLimit, message: string): void {
  if (stopped !== undefined || worker === undefined) return;
  stopped = { limit, message };
  cpuAtStart = undefined;
  void worker.terminate();
}

/** Between looks, a thread can at most overshoot by WATCH_MS of CPU per core and what it allocates in that time. */
function watch(): void {
  if (cpuAtStart === undefined || limits === undefined) return;
  const rss = process.memoryUsage.rss();
  if (rss > limits.memoryMb * 1024 * 1024) {
    stop('memory', `the executor's resident size reached ${Math.round(rss / 1048576)} MB, over its limit of ${limits.memoryMb} MB`);
    return;
  }
  if (limits.cpuSeconds !== undefined) {
    const used = (cpuMicros() - cpuAtStart) / 1e6;
    if (used > limits.cpuSeconds) stop('cpu', `the thread used ${used.toFixed(1)} CPU seconds, over its limit of ${limits.cpuSeconds} s`);
  }
}

process.on('message', (m: ToExecutor) => {
  switch (m.c) {
    case 'open':
      open(m);
      break;
    case 'post':
      if (m.m.type === 'start') {
        Atomics.store(requests, 0, 0);
        cpuAtStart = cpuMicros();
      }
      worker?.postMessage(m.m);
      break;
    case 'snapshot':
      Atomics.store(requests, 0, 1);
      break;
    case 'close':
      if (m.gen === workerGen) void worker?.terminate();
      break;
  }
});
// The daemon is gone (however it died: the kernel closed the pipe): nothing here may outlive it.
process.on('disconnect', () => process.exit(0));
setInterval(watch, WATCH_MS).unref();
send({ c: 'booted' });
