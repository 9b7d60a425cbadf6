/**
 * Migration at every checkpoint without a worker per migration: the thread runs in this process;
 * at each checkpoint its snapshot bytes are taken, the running copy is abandoned (its checkpoint
 * never returns, exactly as when a peer dies), and the thread resumes from a fresh decode of the
 * bytes. Only the bytes carry state from one run to the next, as between peers.
 *
 * Why it exists: a fresh worker costs ~0.6 s of CPU to boot (tsx registration and module
 * loading), so `runThreadLocally(..., { migrateEvery: 1 })` over hundreds of checkpoints does not
 * fit a test budget. The tests use this to resume at *every* checkpoint, and real fresh workers
 * (runThreadLocally) at a bounded number of checkpoints per program, which also proves that
 * nothing but the bytes is needed (classes and frames are found again in a new realm).
 *
 * Threads run one at a time: the runtime keeps the running thread in a module variable.
 */
import { ThreadContext, decodeSnapshot, detachThread, type CheckpointPolicy, type Snapshot, type ThreadHost } from 'ppp2p/runtime';

/** How the thread ended, and how many times it migrated on the way (also when it failed). */
export type InProcessRun = ({ ok: true; result: unknown } | { ok: false; error: unknown }) & { migrations: number };

let busy = false;

/** Never takes a snapshot: the transformed code runs its cheap not-due path at every checkpoint. */
export const NEVER: CheckpointPolicy = { minIntervalMs: Number.MAX_SAFE_INTEGER };

/**
 * Runs `entry` as thread 0 of 1 and migrates it at every checkpoint where `policy` takes a
 * snapshot (default: every checkpoint).
 */
export async function runMigratingInProcess(
  entry: (...args: never[]) => Promise<unknown>,
  policy: CheckpointPolicy = { everyN: 1 },
): Promise<InProcessRun> {
  if (busy) throw new Error('runMigratingInProcess: one thread at a time (the runtime keeps the running thread in a module variable)');
  busy = true;
  try {
    let migrations = 0;
    let bytes: Uint8Array | undefined;
    for (;;) {
      let taken!: (b: Uint8Array) => void;
      const snapshot = new Promise<Uint8Array>((r) => (taken = r));
      const host: ThreadHost = {
        checkpoint(b) {
          taken(b.slice());
          // Never resolves: the copy that took the snapshot is abandoned, as on a dead peer.
          return new Promise<void>(() => {});
        },
        progress() {},
      };
      let running: Promise<unknown>;
      if (bytes === undefined) {
        const ctx = new ThreadContext(ThreadContext.initialState(0, 1), host, policy);
        running = ctx.run(entry as () => Promise<unknown>, []);
      } else {
        const snap = decodeSnapshot(bytes) as Snapshot;
        const ctx = new ThreadContext(snap.thread, host, policy);
        running = ctx.resume(snap.frames);
      }
      const next = await Promise.race([
        running.then(
          (result) => ({ done: true as const, result }),
          (error: unknown) => ({ done: true as const, error }),
        ),
        snapshot.then((b) => ({ done: false as const, bytes: b })),
      ]);
      detachThread();
      if (next.done) {
        return 'error' in next ? { ok: false, error: next.error, migrations } : { ok: true, result: next.result, migrations };
      }
      migrations++;
      bytes = next.bytes;
    }
  } finally {
    busy = false;
  }
}
