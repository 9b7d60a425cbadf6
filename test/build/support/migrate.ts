/**
 * Runs a built thread function in this process, the way an executor would, optionally
 * "migrating" it at every Nth checkpoint: the snapshot bytes are decoded and the thread resumes
 * from them in a new ThreadContext (the old run is abandoned, as a dead worker's would be).
 * Same module instances, so it tests the emitted code and the codec, not module loading.
 */
import { ThreadContext, decodeSnapshot, detachThread, type Snapshot, type ThreadHost } from 'ppp2p/runtime';

export interface InProcessRun {
  result: unknown;
  snapshots: number;
  migrations: number;
}

export async function runInProcess(
  fn: (...args: never[]) => Promise<unknown>,
  args: unknown[] = [],
  opts: { migrateEvery?: number } = {},
): Promise<InProcessRun> {
  let snapshots = 0;
  let migrations = 0;
  // A snapshot can be taken synchronously inside run(), before anyone waits for it.
  let taken: Uint8Array | undefined;
  let pending: ((bytes: Uint8Array) => void) | undefined;
  const host: ThreadHost = {
    checkpoint(bytes) {
      snapshots++;
      if (opts.migrateEvery === undefined) return Promise.resolve();
      if (pending !== undefined) pending(bytes);
      else taken = bytes;
      return new Promise<void>(() => {}); // this run ends here; the thread lives on in the bytes
    },
    progress() {},
  };
  const policy = opts.migrateEvery === undefined ? { minIntervalMs: 1e9 } : { everyN: opts.migrateEvery };
  let ctx = new ThreadContext(ThreadContext.initialState(0, 1), host, policy);
  let run: Promise<unknown> = ctx.run(fn as (...a: unknown[]) => Promise<unknown>, args);
  try {
    for (;;) {
      const next = await new Promise<{ done: true; value: unknown } | { done: false; bytes: Uint8Array }>((resolve, reject) => {
        if (taken !== undefined) {
          resolve({ done: false, bytes: taken });
          taken = undefined;
          return;
        }
        pending = (bytes) => resolve({ done: false, bytes });
        run.then((value) => resolve({ done: true, value }), reject);
      });
      pending = undefined;
      if (next.done) return { result: next.value, snapshots, migrations };
      migrations++;
      const snap = decodeSnapshot(next.bytes) as Snapshot;
      ctx = new ThreadContext(snap.thread, host, policy);
      run = ctx.resume(snap.frames);
    }
  } finally {
    detachThread();
  }
}
