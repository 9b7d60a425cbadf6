/**
 * The application's handle on one spawned virtual thread: its id, its result, its progress.
 *
 * ```ts
 * const t = vc.spawn(island, 1, 500);
 * t.on('progress', (p) => console.log(t.id, p));
 * for await (const p of t) draw(p);            // or iterate the progress values
 * const best = await t.result;
 * ```
 */
import { EventEmitter } from 'node:events';
import { ThreadError } from '../runtime/errors.ts';
import { ThreadCancelledError } from './errors.ts';

/** Where a thread is in its life, as its owner knows it. */
export type VirtualThreadState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A thread moved to another peer: its host died or left ('failure', 'leave'), and it resumed elsewhere. */
export interface MigrationEvent {
  /** Peer id of the host it left. */
  from: string;
  /** Peer id of its new host. */
  to: string;
  /** 'failure' (its host was declared dead), 'leave' (its host left gracefully), or another reason in words. */
  reason: string;
  /** True if it resumed from a checkpoint; false if it restarted from its spawn arguments (it never checkpointed, or every copy was lost). */
  fromCheckpoint: boolean;
}

/** How many progress values a thread keeps for an iterator that has not started yet. */
const BACKLOG_LIMIT = 10_000;

interface ProgressWaiter {
  resolve(r: IteratorResult<unknown>): void;
  reject(e: unknown): void;
}

/** @internal What a VirtualThread needs from its virtual computer. */
export interface ThreadOwner {
  cancel(id: number): Promise<void>;
}

export interface VirtualThreadEvents {
  /** A value the thread passed to `thread.progress()`, in the order it was sent. */
  progress: [value: unknown];
  /** The thread started running on a peer (again, after a restart). */
  started: [host: string];
  /** The thread moved to another peer (its host died or left); emitted before 'started' for the new host. */
  migrated: [info: MigrationEvent];
}

/**
 * One virtual thread. `result` settles exactly once: with the thread's return value, a
 * {@link ThreadError} carrying the thread's own stack (mapped to your `.ts` lines), a
 * {@link ThreadCancelledError}, or a {@link ThreadLostError}.
 */
export class VirtualThread<R = unknown> extends EventEmitter<VirtualThreadEvents> {
  /** 0..n-1 in spawn order on its virtual computer; the same number the thread sees as `thread.id`. */
  readonly id: number;
  /** The thread's return value. */
  readonly result: Promise<R>;
  #state: VirtualThreadState = 'queued';
  #host: string | undefined;
  #progressCount = 0;
  #backlog: unknown[] | undefined = [];
  readonly #iterators = new Set<{ queue: unknown[]; waiter: ProgressWaiter | undefined }>();
  #settle!: { resolve(v: R): void; reject(e: Error): void };
  #error: Error | undefined;
  readonly #owner: ThreadOwner;

  /** @internal Created by `VirtualComputer.spawn`. */
  constructor(id: number, owner: ThreadOwner) {
    super();
    this.id = id;
    this.#owner = owner;
    this.result = new Promise<R>((resolve, reject) => (this.#settle = { resolve, reject }));
    // A thread whose failure nobody awaits must not crash the application with an unhandled rejection:
    // the error is still delivered to whoever awaits `result` later.
    this.result.catch(() => {});
  }

  get state(): VirtualThreadState {
    return this.#state;
  }

  /** The id of the peer running (or that ran) the thread, once it started. */
  get host(): string | undefined {
    return this.#host;
  }

  /** How many progress values arrived so far. */
  get progressCount(): number {
    return this.#progressCount;
  }

  /** True once `result` has settled. */
  get finished(): boolean {
    return this.#state === 'done' || this.#state === 'failed' || this.#state === 'cancelled';
  }

  /**
   * Stops the thread wherever it is (queued or running); `result` rejects with a ThreadCancelledError.
   * Resolves once the thread's controller has stopped it. Does nothing to a finished thread.
   */
  async cancel(): Promise<void> {
    if (this.finished) return;
    await this.#owner.cancel(this.id);
    this._cancelled();
  }

  /**
   * The thread's progress values as an async iterator, ending when the thread finishes; if the thread
   * failed, the iterator throws its error after the last value. The first iterator also receives the
   * values that arrived before it was created (up to 10,000); later ones start from their creation.
   */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    const it = { queue: this.#backlog ?? [], waiter: undefined as ProgressWaiter | undefined };
    this.#backlog = undefined;
    this.#iterators.add(it);
    const done = (): IteratorResult<unknown> => {
      this.#iterators.delete(it);
      return { done: true, value: undefined };
    };
    return {
      next: () => {
        if (it.queue.length > 0) return Promise.resolve({ done: false, value: it.queue.shift() });
        if (this.finished) {
          this.#iterators.delete(it);
          return this.#error !== undefined && this.#state === 'failed' ? Promise.reject(this.#error) : Promise.resolve(done());
        }
        return new Promise<IteratorResult<unknown>>((resolve, reject) => (it.waiter = { resolve, reject }));
      },
      return: () => Promise.resolve(done()),
    };
  }

  /** @internal */
  _started(host: string): void {
    if (this.finished) return;
    this.#state = 'running';
    this.#host = host;
    this.emit('started', host);
  }

  /** @internal */
  _migrated(info: MigrationEvent): void {
    if (!this.finished) this.emit('migrated', info);
  }

  /** @internal */
  _queued(): void {
    if (!this.finished) this.#state = 'queued';
  }

  /** @internal */
  _progress(value: unknown): void {
    if (this.finished) return;
    this.#progressCount++;
    if (this.#backlog !== undefined && this.#backlog.length < BACKLOG_LIMIT) this.#backlog.push(value);
    for (const it of this.#iterators) {
      if (it.waiter !== undefined) {
        const w = it.waiter;
        it.waiter = undefined;
        w.resolve({ done: false, value });
      } else {
        it.queue.push(value);
      }
    }
    this.emit('progress', value);
  }

  /** @internal */
  _resolve(value: R): void {
    if (this.#finish('done')) this.#settle.resolve(value);
  }

  /** @internal */
  _reject(err: Error): void {
    if (this.#finish('failed', err)) this.#settle.reject(err);
  }

  /** @internal */
  _cancelled(): void {
    if (this.#finish('cancelled')) this.#settle.reject(new ThreadCancelledError(`Virtual thread ${this.id} was cancelled.`));
  }

  #finish(state: VirtualThreadState, err?: Error): boolean {
    if (this.finished) return false;
    this.#state = state;
    this.#error = err;
    for (const it of this.#iterators) {
      if (it.waiter === undefined || it.queue.length > 0) continue;
      const w = it.waiter;
      it.waiter = undefined;
      this.#iterators.delete(it);
      if (state === 'failed' && err !== undefined) w.reject(err);
      else w.resolve({ done: true, value: undefined });
    }
    return true;
  }
}
