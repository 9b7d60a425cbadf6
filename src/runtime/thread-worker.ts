/**
 * The inside of one executor slot: a worker thread that runs virtual threads one at a time, each
 * from its arguments or from a snapshot, and reports snapshots, progress, the result or the error
 * to its parent. `ppp2p run` and the peer's executors both drive it (see frame-runner.ts); a peer
 * keeps the worker and sends it the next thread when one ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { ThreadContext, detachThread, type Snapshot, type ThreadHost } from './thread-context.ts';
import { decodeSnapshot } from './snapshot-codec.ts';
import type { ToWorker, FromWorker, StartThread } from './worker-messages.ts';
import { ThreadMessaging } from './thread-messaging.ts';

const port = parentPort!;
/** Shared with the parent's SlotWorker: non-zero asks the running thread for a snapshot. */
const snapshotRequests = (workerData as { snapshotRequests?: Int32Array } | undefined)?.snapshotRequests;
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

/** Loaded thread modules by path: a reused slot skips the module loader for the next thread. */
const modules = new Map<string, Record<string, unknown>>();

/** Resolved by the parent's `resume` answer after it has stored a snapshot. */
const waiting = new Map<number, () => void>();

/** Message passing and globals of the running thread, when its host offers them (peers do, `ppp2p run` does not). */
let messaging: ThreadMessaging | undefined;

async function start(job: StartThread): Promise<void> {
  waiting.clear();
  const m = (messaging = job.mailboxSize === undefined ? undefined : new ThreadMessaging(post, job.mailboxSize));
  let mod = modules.get(job.module);
  if (mod === undefined) {
    mod = (await import(pathToFileURL(job.module).href)) as Record<string, unknown>;
    modules.set(job.module, mod);
  }
  const entry = mod[job.exportName];
  if (typeof entry !== 'function') {
    throw new Error(`${job.module} has no exported function '${job.exportName}'.`);
  }
  // Code of a finished thread can still hold a callback that reports progress; once the thread has
  // ended, nothing it does may reach the parent as an effect of the slot's next thread.
  let open = true;
  const host: ThreadHost = {
    checkpoint(bytes, info) {
      // Copied, never moved (transferred): the first ArrayBuffer this isolate detaches invalidates V8's
      // ArrayBufferDetaching protector for good, and from then on every typed-array access in optimized thread
      // code checks for a detached buffer. Measured on the TSP island (typed-array distance matrix), that made
      // every generation after the first snapshot slower; a copy of the snapshot costs well under a millisecond.
      // A view would be cloned with all of its buffer, hence the slice when the bytes do not own theirs.
      const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      post({ type: 'snapshot', bytes: owned, info });
      // A parent that migrates the thread terminates this worker instead of answering.
      return new Promise<void>((resolve) => waiting.set(info.number, resolve));
    },
    progress(value, seq) {
      if (open) post({ type: 'progress', value, seq });
    },
    ...(m === undefined
      ? {}
      : {
          send: (to, value, seq) => m.send(to, value, seq),
          receive: (opts) => m.receive(opts),
          globals: (op, seq) => m.globals(op, seq),
          flush: () => m.flush(),
        }),
  };
  let result: unknown;
  try {
    result = await runThread(job, entry, host);
  } finally {
    open = false;
    m?.close();
    detachThread();
  }
  post({ type: 'result', value: result });
}

async function runThread(job: StartThread, entry: unknown, host: ThreadHost): Promise<unknown> {
  let result: unknown;
  if (job.snapshot !== undefined) {
    const snap = decodeSnapshot(job.snapshot) as Snapshot;
    const ctx = new ThreadContext(snap.thread, host, job.policy);
    messaging?.attach(ctx.state, true);
    if (snapshotRequests !== undefined) ctx.watchSnapshotRequests(snapshotRequests);
    result = await ctx.resume(snap.frames);
  } else {
    const ctx = new ThreadContext(ThreadContext.initialState(job.threadId, job.threadCount, job.seed), host, job.policy);
    messaging?.attach(ctx.state, false);
    if (snapshotRequests !== undefined) ctx.watchSnapshotRequests(snapshotRequests);
    result = await ctx.run(entry as (...a: unknown[]) => Promise<unknown>, job.args);
  }
  return result;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    start(m).catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', name: e.name, message: e.message, stack: e.stack ?? '' });
    });
  } else if (m.type === 'continue') {
    waiting.get(m.number)?.();
    waiting.delete(m.number);
  } else if (m.type === 'reply' || m.type === 'delivered' || m.type === 'host') {
    messaging?.onMessage(m);
  }
});
post({ type: 'ready' });
