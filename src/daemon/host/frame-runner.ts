/**
 * Runs one virtual thread in a worker thread of this process, and, when asked, migrates it at
 * every Nth checkpoint: the snapshot bytes are the only thing that crosses from the old worker to a
 * fresh one, exactly as between two peers. This is `ppp2p run`, the users' "is my code
 * migration-safe?" check, and the building block of the peer's executors.
 *
 * {@link SlotWorker} is one long-lived slot that runs threads one after another (the peer's executors
 * keep their slots warm); {@link runInSlot} is a slot used for one thread and then ended.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { resolve } from 'node:path';
import type { CheckpointPolicy, SnapshotInfo } from '../../runtime/thread-context.ts';
import { packDelivered, unpackEntries, type Delivered, type FromWorker, type HostNotice, type StartThread, type ThreadCall, type ThreadNotice, type ToWorker } from '../../runtime/worker-messages.ts';

import { ThreadError } from '../../runtime/errors.ts';
import { RUNS_FROM_SOURCE, SOURCE_CONDITION, packageFile } from '../../protocol/package-files.ts';

// Compiled, a slot loads the runtime's JavaScript directly. From source (tests, tsx) a worker cannot take tsx from
// execArgv (loader hooks are not inherited by worker threads), so a small boot file registers it first.
export const threadWorkerEntry = RUNS_FROM_SOURCE ? packageFile('runtime/thread-worker-boot.js') : packageFile('runtime/thread-worker.js');
const threadExecArgv = RUNS_FROM_SOURCE ? [...process.execArgv, `--conditions=${SOURCE_CONDITION}`] : process.execArgv;

/**
 * The channel to one worker that runs threads: a worker thread of this process ({@link localThreadPort}), or one
 * inside a sandboxed executor process (sandboxed-executor.ts). SlotWorker sets the three callbacks.
 */
export interface ThreadPort {
  post(m: ToWorker, transfer?: ArrayBuffer[]): void;
  /** Raises (true) or clears the flag the running thread checks for snapshot requests. */
  setSnapshotRequest(on: boolean): void;
  /** Whether an idle worker keeps the process alive. */
  ref(): void;
  unref(): void;
  terminate(): Promise<void>;
  onMessage: (m: FromWorker) => void;
  /** The worker is gone; `err` says why when it did not just end (crash, uncaught error, a limit). */
  onExit: (code: number, err: Error | undefined) => void;
}

/** A worker thread of this process as a ThreadPort (sandbox off, and `ppp2p run`). */
export function localThreadPort(resourceLimits?: ResourceLimits): ThreadPort {
  const requests = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(threadWorkerEntry, { execArgv: threadExecArgv, resourceLimits, stdout: false, stderr: false, workerData: { snapshotRequests: requests } });
  let error: Error | undefined;
  const port: ThreadPort = {
    post: (m, transfer) => worker.postMessage(m, transfer),
    setSnapshotRequest: (on) => Atomics.store(requests, 0, on ? 1 : 0),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: async () => {
      await worker.terminate();
    },
    onMessage: () => {},
    onExit: () => {},
  };
  worker.on('message', (m: FromWorker) => port.onMessage(m));
  worker.on('error', (err) => (error = err));
  worker.on('exit', (code) => port.onExit(code, error));
  return port;
}

export interface SlotEvents {
  onSnapshot(bytes: Uint8Array, info: SnapshotInfo): 'continue' | 'stop';
  onProgress?(value: unknown, seq: number): void;
  /** A message-passing or globals call of the thread (jobs with `mailboxSize`); its outcome is the thread's reply. */
  onCall?(call: ThreadCall): Promise<unknown>;
  /** A message-passing notice of the thread: a send, a re-send, where its mailbox starts. */
  onNotice?(notice: ThreadNotice): void;
}

/** How one thread run in a slot ended: its result, or the snapshot it stopped at. */
export type SlotOutcome = { result: unknown } | { stopped: Uint8Array };

interface SlotRun {
  events: SlotEvents;
  resolve(outcome: SlotOutcome): void;
  reject(err: Error): void;
}

/**
 * A long-lived executor slot: one worker thread that runs virtual threads one after another.
 * Starting a worker thread (and its TypeScript loader) costs far more than a trivial thread, so a
 * peer keeps its slots warm and reuses them. A thread that stops at a snapshot, is cancelled, or
 * takes its worker down (out of memory, `process.exit`) kills the worker: `alive` turns false and
 * the owner of the slot starts a new one.
 *
 * Invariant: at most one run at a time, because the runtime's current thread is per realm.
 */
export class SlotWorker {
  readonly #port: ThreadPort;
  #run: SlotRun | undefined;
  #alive = true;
  /** Resolves when the worker has loaded the runtime and can start a thread at once. */
  readonly ready: Promise<void>;
  /** Called once when the worker is gone, whether terminated or crashed. */
  onExit: (() => void) | undefined;

  /** A slot over `port`, or over a new worker thread of this process with these limits. */
  constructor(port?: ThreadPort | ResourceLimits) {
    this.#port = port !== undefined && 'post' in port ? port : localThreadPort(port);
    // An idle slot must not keep its process alive; a slot running a thread must (see run()).
    this.#port.unref();
    let markReady!: () => void;
    this.ready = new Promise<void>((r) => (markReady = r));
    this.#port.onMessage = (m: FromWorker) => {
      if (m.type === 'ready') {
        markReady();
        return;
      }
      const run = this.#run;
      if (run === undefined) return;
      switch (m.type) {
        case 'snapshot':
          if (run.events.onSnapshot(m.bytes, m.info) === 'stop') {
            // The thread lives on only in these bytes; its worker must not run on past them.
            this.#settle((r) => r.resolve({ stopped: m.bytes }));
            void this.terminate();
          } else {
            this.#port.post({ type: 'continue', number: m.info.number } satisfies ToWorker);
          }
          break;
        case 'progress':
          run.events.onProgress?.(m.value, m.seq);
          break;
        case 'result':
          this.#settle((r) => r.resolve({ result: m.value }));
          break;
        case 'error':
          this.#settle((r) => r.reject(new ThreadError(m.name, m.message, m.stack)));
          break;
        case 'call':
          if (m.sends !== undefined) run.events.onNotice?.({ kind: 'send', entries: unpackEntries(m.sends) });
          this.#answer(run, m.id, m.call);
          break;
        case 'notice':
          run.events.onNotice?.(m.notice);
          break;
        case 'entries':
          run.events.onNotice?.({ kind: m.kind, entries: unpackEntries(m.batch) });
          break;
      }
    };
    this.#port.onExit = (code, err) => {
      this.#alive = false;
      markReady();
      this.#settle((r) => r.reject(err ?? new Error(`The thread's worker exited with code ${code} before the thread finished.`)));
      this.onExit?.();
    };
  }

  /** False once the worker has exited; a dead slot cannot run anything. */
  get alive(): boolean {
    return this.#alive;
  }

  get busy(): boolean {
    return this.#run !== undefined;
  }

  /** Runs one thread; the slot must be alive and idle. */
  run(job: Omit<StartThread, 'type'>, events: SlotEvents): Promise<SlotOutcome> {
    if (!this.#alive) return Promise.reject(new Error('Cannot run a thread: this slot\'s worker has exited.'));
    if (this.#run !== undefined) return Promise.reject(new Error('Cannot run a thread: this slot is busy.'));
    return new Promise<SlotOutcome>((resolve, reject) => {
      this.#run = { events, resolve, reject };
      this.#port.setSnapshotRequest(false); // a request for the previous thread is not one for this thread
      this.#port.ref();
      // Posted before 'ready' is fine: the worker's port queues it until its listener is attached.
      this.#port.post({ type: 'start', ...job } satisfies StartThread);
    });
  }

  /**
   * Asks the running thread for a snapshot at its next checkpoint opportunity, whatever the policy says
   * (graceful leave, re-replication). It reaches thread code that never yields: the flag is shared memory.
   */
  requestSnapshot(): void {
    if (this.#run !== undefined) this.#port.setSnapshotRequest(true);
  }

  /** Tells the thread started with `events` something (acks, outbox trims); nothing if that run has ended. */
  notify(events: SlotEvents, notice: HostNotice): void {
    if (this.#run?.events === events) this.#port.post({ type: 'host', notice } satisfies ToWorker);
  }

  #answer(run: SlotRun, id: number, call: ThreadCall): void {
    const onCall = run.events.onCall;
    if (onCall === undefined) {
      this.#reply(run, { type: 'reply', id, ok: false, name: 'Error', message: `this host offers no '${call.kind}' calls` });
      return;
    }
    // The arrows made per call only forward: V8 drops a short-lived closure's optimized code at full GCs (its
    // next closures are optimized again), so what they do lives in methods, which stay optimized.
    onCall(call).then(
      (value) => this.#answered(run, id, call, value),
      (err: unknown) => this.#failed(run, id, err),
    );
  }

  #answered(run: SlotRun, id: number, call: ThreadCall, value: unknown): void {
    if (call.kind !== 'receive') return this.#reply(run, { type: 'reply', id, ok: true, value });
    // Received messages move to the thread in one buffer: no copy per message, and none of the frames they came in.
    const batch = packDelivered(value as Delivered[]);
    this.#reply(run, { type: 'delivered', id, batch }, [batch.buffer as ArrayBuffer]);
  }

  #failed(run: SlotRun, id: number, err: unknown): void {
    const e = err as { name?: unknown; message?: unknown; code?: unknown };
    const code = typeof e?.code === 'string' ? e.code : undefined;
    this.#reply(run, { type: 'reply', id, ok: false, name: typeof e?.name === 'string' ? e.name : 'Error', message: typeof e?.message === 'string' ? e.message : String(err), ...(code === undefined ? {} : { code }) });
  }

  #reply(run: SlotRun, r: ToWorker, transfer?: ArrayBuffer[]): void {
    if (this.#run === run) this.#port.post(r, transfer);
  }

  /** Stops the worker (and the thread on it, whose run then rejects). */
  async terminate(): Promise<void> {
    this.#settle((r) => r.reject(new Error('The thread was stopped: its slot was terminated.')));
    await this.#port.terminate();
  }

  #settle(fn: (run: SlotRun) => void): void {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    if (this.#alive) this.#port.unref();
    fn(run);
  }
}

/**
 * Runs one virtual thread in a fresh worker thread that ends with it. Resolves with the thread's
 * result, rejects with a ThreadError, or resolves `{ stopped }` when `onSnapshot` asked to stop
 * (the thread then lives on only in that snapshot).
 */
export function runInSlot(
  job: Omit<StartThread, 'type'>,
  events: SlotEvents,
  resourceLimits?: ResourceLimits,
): { done: Promise<SlotOutcome>; terminate(): Promise<void> } {
  const slot = new SlotWorker(resourceLimits);
  const done = slot.run(job, events);
  const end = (): void => void slot.terminate();
  done.then(end, end);
  return { done, terminate: () => slot.terminate() };
}

export interface LocalRunOptions {
  args?: unknown[];
  /** Serialize the whole state at every Nth checkpoint and resume it from the bytes in a fresh worker. */
  migrateEvery?: number;
  policy?: CheckpointPolicy;
  onProgress?(value: unknown): void;
  onMigrate?(info: SnapshotInfo): void;
}

export interface LocalRunResult {
  result: unknown;
  snapshots: number;
  migrations: number;
}

/** Runs `exportName` of the built module at `modulePath` as a single virtual thread. */
export async function runThreadLocally(modulePath: string, exportName: string, opts: LocalRunOptions = {}): Promise<LocalRunResult> {
  const migrateEvery = opts.migrateEvery;
  if (migrateEvery !== undefined && !(Number.isInteger(migrateEvery) && migrateEvery >= 1)) {
    throw new RangeError(`migrateEvery must be a positive integer, got ${String(migrateEvery)}`);
  }
  const policy: CheckpointPolicy = migrateEvery !== undefined ? { everyN: migrateEvery } : (opts.policy ?? {});
  let snapshots = 0;
  let migrations = 0;
  let job: Omit<StartThread, 'type'> = {
    module: resolve(modulePath),
    exportName,
    args: opts.args ?? [],
    threadId: 0,
    threadCount: 1,
    policy,
  };
  for (;;) {
    const slot = runInSlot(job, {
      onSnapshot(_bytes, info) {
        snapshots++;
        if (migrateEvery === undefined) return 'continue';
        opts.onMigrate?.(info);
        return 'stop';
      },
      onProgress: (v) => opts.onProgress?.(v),
    });
    const outcome = await slot.done;
    if ('result' in outcome) return { result: outcome.result, snapshots, migrations };
    migrations++;
    job = { ...job, snapshot: outcome.stopped };
  }
}
