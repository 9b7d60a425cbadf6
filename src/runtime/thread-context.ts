/**
 * The state of one virtual thread as the code running inside it sees it: the frame stack that a
 * snapshot captures, the checkpoint policy, the seeded random generator, and the host that
 * receives its effects (an executor inside a peer, or `ppp2p run`).
 *
 * One JavaScript realm (process or worker thread) runs at most one virtual thread at a time, so the
 * running thread is a module-level variable rather than async-local storage: reading it costs a
 * load, and emitted code reads it once per call.
 */
import { Frame, type FrameClass } from './frame.ts';
import { encodeSnapshot } from './snapshot-codec.ts';
import { CheckpointError, UnserializableValueError } from './errors.ts';
import { unannouncedCallError } from './unannounced-call.ts';

/** When `checkpoint()` takes a real snapshot. */
export interface CheckpointPolicy {
  /** Take a snapshot when at least this many ms of run time passed since the last one. @default 1000 */
  minIntervalMs?: number;
  /** Take a snapshot at every Nth checkpoint instead (used by `ppp2p run --migrate-every`). */
  everyN?: number;
}

/** Where a thread's snapshots and effects go. */
export interface ThreadHost {
  /**
   * Receives each snapshot taken at a checkpoint. The thread waits for the returned promise:
   * a host that migrates the thread elsewhere simply never resolves it.
   */
  checkpoint(bytes: Uint8Array, info: SnapshotInfo): Promise<void>;
  /** A partial result for the owner. */
  progress(value: unknown, seq: number): void;
  /** Message passing and globals, where the host supports them. */
  send?(to: number, value: unknown, seq: number): Promise<void>;
  receive?(opts: { from?: number; timeoutMs?: number }): Promise<{ from: number; value: unknown }>;
  globals?(op: GlobalsOp, seq: number): Promise<unknown>;
  /** Called at every checkpoint opportunity: hands coalesced sends to the host (cheap when there are none). */
  flush?(): void;
}

export type GlobalsOp =
  | { op: 'get'; name: string }
  | { op: 'set'; name: string; value: unknown }
  | { op: 'compareAndSet'; name: string; expected: unknown; next: unknown }
  | { op: 'lock'; name: string }
  | { op: 'unlock'; name: string; value: unknown; write: boolean };

export interface SnapshotInfo {
  /** How many snapshots this thread has taken, this one included. */
  number: number;
  /** Source location of the checkpoint, `file:line`. */
  site: string;
  bytes: number;
  encodeMs: number;
  /** `ThreadState.seq` when the snapshot was taken: the effects it covers are those numbered below it. */
  seq: number;
  /**
   * The thread's consumed cursor when the snapshot was taken (`ThreadState.consumed`): once this snapshot is
   * acknowledged, senders may trim their outboxes up to it (docs/effects-and-recovery.md).
   */
  consumed: Record<number, number>;
}

/** One message a thread sent, kept in its outbox until the receiver's acknowledged checkpoint covers it. */
export interface OutboxEntry {
  to: number;
  seq: number;
  /** Seq of the previous message from this thread to `to` (-1 for the first): the mailbox's FIFO chain. */
  prev: number;
  /** The value, encoded with the snapshot codec. */
  bytes: Uint8Array;
}

/** The serialized state of a thread besides its frames. */
export interface ThreadState {
  id: number;
  count: number;
  rng: [number, number, number, number];
  /** Sequence number of the next effect (progress, send, globals op, result). */
  seq: number;
  snapshots: number;
  /** Per sender thread id: the highest message seq this thread has received (its consumed cursor). */
  consumed: Record<number, number>;
  /** Per receiver thread id: the seq of the last message sent to it, the `prev` of the next one. */
  lastSent: Record<number, number>;
  /** Messages sent and not yet covered by their receiver's acknowledged checkpoint, in send order. */
  outbox: OutboxEntry[];
}

/** What a snapshot holds: versioned so that a peer can refuse a format it does not know. */
export interface Snapshot {
  format: 1;
  frames: Frame[];
  thread: ThreadState;
}

export class ThreadContext {
  /** `stack[d]` is the frame of the function running at call depth d (see frame.ts). */
  readonly stack: Frame[] = [];
  /** The depth a call site announced for the function it is calling; -1 once `enter` or `called` took it. */
  depth = 0;
  /** Frames still to hand out while resuming, in caller-to-callee order. */
  #resume: Frame[] = [];
  #resumeIndex = 0;
  readonly state: ThreadState;
  readonly #host: ThreadHost | undefined;
  readonly #everyN: number;
  readonly #minIntervalMs: number;
  #opportunities = 0;
  #nextDueAt: number;
  #forced = false;
  /** Set to non-zero by another thread (the executor's parent) to ask for a snapshot; see watchSnapshotRequests. */
  #requests: Int32Array | undefined;

  constructor(state: ThreadState, host?: ThreadHost, policy: CheckpointPolicy = {}) {
    this.state = state;
    this.#host = host;
    this.#everyN = policy.everyN ?? 0;
    this.#minIntervalMs = policy.minIntervalMs ?? 1000;
    this.#nextDueAt = performance.now() + this.#minIntervalMs;
  }

  /** A fresh thread's state: the random generator is seeded from the thread id and a seed. */
  static initialState(id: number, count: number, seed = 0x9e3779b9): ThreadState {
    return { id, count, rng: seedRng(seed, id), seq: 0, snapshots: 0, consumed: {}, lastSent: {}, outbox: [] };
  }

  get attached(): boolean {
    return this.#host !== undefined;
  }

  /**
   * Called on entry of every checkpointable function: the frame to run with, stored at the depth its call
   * site announced in `depth` (consumed here). None announced in an attached thread: the call was not a
   * site, and the frame would overwrite its caller's (frame.ts), so the thread fails instead.
   */
  enter(cls: FrameClass): Frame {
    let d = this.depth;
    if (d < 0) {
      if (this.#host !== undefined) throw unannouncedCallError(cls, ThreadContext.prototype.enter);
      d = 0; // detached: no snapshot is ever taken
    }
    this.depth = -1;
    let frame: Frame;
    if (this.#resumeIndex < this.#resume.length) {
      const next = this.#resume[this.#resumeIndex++]!;
      if (!(next instanceof cls)) {
        const got = ((next as Frame).constructor as FrameClass).id;
        throw new CheckpointError(
          `Cannot resume: the snapshot expected a call of '${got}' here but '${cls.id}' was entered. ` +
            'The snapshot does not match this code; restart the thread from its arguments.',
        );
      }
      frame = next;
      if (this.#resumeIndex === this.#resume.length) this.#resume = [];
    } else {
      frame = new cls();
    }
    this.stack[d] = frame;
    return frame;
  }

  /** Emitted around each call at a call site: once the callee returned its promise, no call is announced. */
  called<T>(value: T): T {
    this.depth = -1;
    return value;
  }

  /** Whether this checkpoint opportunity takes a snapshot. Cheap when it does not. */
  due(): boolean {
    if (this.#host === undefined) return false;
    this.#host.flush?.();
    if (this.#forced) return true;
    if (this.#requests !== undefined && this.#requests[0] !== 0) return true;
    if (this.#everyN > 0) return ++this.#opportunities % this.#everyN === 0;
    const now = performance.now();
    if (now < this.#nextDueAt) return false;
    this.#nextDueAt = now + this.#minIntervalMs;
    return true;
  }

  /** Ask for a snapshot at the next checkpoint opportunity (graceful leave, migration). */
  requestSnapshot(): void {
    this.#forced = true;
  }

  /**
   * Lets another thread ask for a snapshot by storing non-zero into `flag[0]` (a SharedArrayBuffer view).
   * A message would not do: CPU-bound thread code between checkpoints never yields to its event loop, so
   * only memory it reads at every checkpoint opportunity reaches it (graceful leave, re-replication).
   */
  watchSnapshotRequests(flag: Int32Array): void {
    this.#requests = flag;
  }

  /** Takes a snapshot of frames 0..d, all of which have spilled their locals. */
  async snapshot(d: number): Promise<void> {
    const host = this.#host;
    if (host === undefined) return;
    this.#forced = false;
    if (this.#requests !== undefined) Atomics.store(this.#requests, 0, 0);
    this.state.snapshots++;
    const frames = this.stack.slice(0, d + 1);
    const top = frames[d]!;
    const cls = top.constructor as FrameClass;
    const site = `${cls.file ?? cls.id}:${cls.sites[top.pc] ?? '?'}`;
    const started = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = encodeSnapshot({ format: 1, frames, thread: this.state } satisfies Snapshot);
    } catch (err) {
      throw describeUnserializable(err, frames, site);
    }
    const encodeMs = performance.now() - started;
    await host.checkpoint(bytes, { number: this.state.snapshots, site, bytes: bytes.byteLength, encodeMs, seq: this.state.seq, consumed: { ...this.state.consumed } });
  }

  /** Continues the suspended callee whose frame is next in the resume list. */
  resumeCall(): Promise<unknown> {
    const next = this.#resume[this.#resumeIndex];
    if (next === undefined) {
      throw new CheckpointError('Cannot resume: the snapshot ends at a call site without the callee frame.');
    }
    const cls = next.constructor as FrameClass;
    return (cls.fn as (this: unknown) => Promise<unknown>).call(next['self']);
  }

  /** Runs a thread's entry function from the start. */
  run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, args: A): Promise<R> {
    return this.#activate(() => fn(...args));
  }

  /** Resumes a thread from the frames of a decoded snapshot. */
  resume(frames: Frame[]): Promise<unknown> {
    const entry = frames[0];
    if (entry === undefined) throw new CheckpointError('Cannot resume: the snapshot holds no frame.');
    this.#resume = frames;
    this.#resumeIndex = 0;
    const cls = entry.constructor as FrameClass;
    return this.#activate(() => (cls.fn as (this: unknown) => Promise<unknown>).call(entry['self']));
  }

  #activate<R>(start: () => Promise<R>): Promise<R> {
    running = this;
    this.depth = 0;
    return start();
  }

  /** The next value of the thread's seeded generator, in [0, 1). sfc32: small state, fast, good. */
  random(): number {
    const s = this.state.rng;
    let a = s[0], b = s[1], c = s[2], d = s[3];
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    s[0] = a; s[1] = b; s[2] = c; s[3] = d;
    return (t >>> 0) / 4294967296;
  }

  /** Reports a partial result; returns the effect's sequence number. */
  progress(value: unknown): void {
    const seq = this.state.seq++;
    this.#host?.progress(value, seq);
  }

  get host(): ThreadHost | undefined {
    return this.#host;
  }
}

function seedRng(seed: number, id: number): [number, number, number, number] {
  const s: [number, number, number, number] = [seed | 0, (id * 0x85ebca6b) | 0, 0xc2b2ae35 | 0, 1];
  // Warm up so that nearby seeds give unrelated streams.
  const ctx = { state: { rng: s } } as unknown as ThreadContext;
  for (let i = 0; i < 15; i++) ThreadContext.prototype.random.call(ctx);
  return s;
}

/** Turns a codec failure into an error that names the variable and where it was declared live. */
function describeUnserializable(err: unknown, frames: Frame[], site: string): unknown {
  if (!(err instanceof UnserializableValueError)) return err;
  const [root, index, field, ...rest] = err.path;
  if (root === 'frames' && typeof index === 'number' && typeof field === 'string') {
    const frame = frames[index]!;
    const cls = frame.constructor as FrameClass;
    const fn = cls.id.slice(cls.id.indexOf('#') + 1);
    const where = `${cls.file ?? cls.id}:${cls.sites[frame.pc] ?? '?'}`;
    const variable = field === 'self' ? 'this' : field.replace(/\$\d+$/, '');
    const inner = rest.length > 0 ? ` (at ${variable}${rest.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')})` : '';
    return new CheckpointError(
      `Cannot checkpoint at ${site}: variable '${variable}' of ${fn}() at ${where} holds ${err.what}${inner}, ` +
        'which cannot be serialized. Fix: do not keep it live across checkpoint(): recreate it after the checkpoint, ' +
        'or store plain data instead.',
      { cause: err },
    );
  }
  return new CheckpointError(`Cannot checkpoint at ${site}: ${err.message}`, { cause: err });
}

/** A context for code that runs outside any virtual thread: checkpoints are no-ops there. */
const detached = new ThreadContext(ThreadContext.initialState(0, 1));
let running: ThreadContext = detached;

/** The thread whose code is running now (a detached no-op context outside virtual threads). */
export function currentThread(): ThreadContext {
  return running;
}

/** @internal Used by hosts once a thread has finished, so later code runs detached again. */
export function detachThread(): void {
  running = detached;
}
