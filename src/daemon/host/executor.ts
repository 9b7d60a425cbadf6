/**
 * Executors: the slots in which this peer runs virtual threads, off the daemon's event loop.
 *
 * Each slot is a long-lived worker thread (src/daemon/host/frame-runner.ts `SlotWorker`) that runs one
 * virtual thread at a time, with a heap limit per thread. A slot stays warm between threads: starting
 * a worker thread costs far more than a trivial thread. A slot serves one assembly at a time, because
 * the runtime's frame registry is per realm and two builds of the same module would claim the same
 * frame ids; a thread of another assembly gets a fresh worker in that slot.
 *
 * Threads beyond the free slots wait here in FIFO order (the deployer's delegator avoids that, but
 * several virtual computers share one peer's slots and may race for the last one).
 */
import { availableParallelism } from 'node:os';
import { ThreadError } from '../../runtime/errors.ts';
import { CancelledError } from '../errors.ts';
import { SlotWorker, type SlotEvents, type SlotOutcome } from './frame-runner.ts';
import type { HostNotice, StartThread } from '../../runtime/worker-messages.ts';

export interface ExecutorOptions {
  /** Worker threads, i.e. virtual threads that run at once. @default os.availableParallelism() */
  slots?: number;
  /** Heap limit of each virtual thread in MB (`maxOldGenerationSizeMb`). @default 512 */
  memoryLimitMb?: number;
}

/** One virtual thread for an executor: what runs, from where, as which thread. */
export type ExecJob = Omit<StartThread, 'type'>;

/** A submitted thread: `done` settles like `SlotWorker.run`; `cancel` stops it wherever it is. */
export interface ExecHandle {
  readonly done: Promise<SlotOutcome>;
  /** Drops a queued thread, or kills the slot running it; `done` rejects with a CancelledError. */
  cancel(): void;
  /** Tells the running thread something (message acks, outbox trims); dropped while it is queued or after it ended. */
  notify?(notice: HostNotice): void;
  /** Asks the running thread for a snapshot at its next checkpoint opportunity (nothing while it is queued). */
  requestSnapshot?(): void;
  /** Whether the thread has a slot (false while it waits in the queue). */
  readonly started?: boolean;
}

interface Slot {
  worker: SlotWorker;
  /** The assembly (module path) this worker has loaded, once it ran a thread. */
  module: string | undefined;
  current: Pending | undefined;
}

interface Pending {
  job: ExecJob;
  events: SlotEvents;
  resolve(o: SlotOutcome): void;
  reject(e: Error): void;
  slot: Slot | undefined;
  cancelled: boolean;
}

export class Executors {
  readonly slots: number;
  readonly memoryLimitMb: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #closed = false;
  /** Called whenever the number of free slots changes. */
  onFreeSlotsChange: ((free: number) => void) | undefined;

  constructor(opts: ExecutorOptions = {}) {
    const slots = opts.slots ?? availableParallelism();
    if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`options.slots must be a non-negative integer, got ${slots}`);
    const mem = opts.memoryLimitMb ?? 512;
    if (!Number.isInteger(mem) || mem < 16) throw new RangeError(`options.memoryLimitMb must be an integer >= 16, got ${mem}`);
    this.slots = slots;
    this.memoryLimitMb = mem;
    for (let i = 0; i < slots; i++) {
      this.#slots.push({ worker: this.#newWorker(), module: undefined, current: undefined });
    }
  }

  /** Slots not running a thread. */
  get freeSlots(): number {
    let free = 0;
    for (const s of this.#slots) if (s.current === undefined) free++;
    return free;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once every slot's worker has booted. */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.ready));
  }

  /** Runs a thread in a free slot, or queues it until one frees. */
  submit(job: ExecJob, events: SlotEvents): ExecHandle {
    if (this.#closed) {
      return { done: Promise.reject(new Error('Cannot run a thread: the executors are closed.')), cancel() {} };
    }
    if (this.slots === 0) {
      return { done: Promise.reject(new Error('Cannot run a thread: this peer has no slots (started with --slots 0).')), cancel() {} };
    }
    let pending!: Pending;
    const done = new Promise<SlotOutcome>((resolve, reject) => {
      pending = { job, events, resolve, reject, slot: undefined, cancelled: false };
    });
    this.#queue.push(pending);
    this.#pump();
    return {
      done,
      cancel: () => this.#cancel(pending),
      notify: (notice) => pending.slot?.worker.notify(pending.events, notice),
      requestSnapshot: () => {
        if (pending.slot?.current === pending) pending.slot.worker.requestSnapshot();
      },
      get started() {
        return pending.slot !== undefined;
      },
    };
  }

  /** Stops every slot; running and queued threads reject. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.reject(new Error('The thread was stopped: the peer is shutting down.'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  /** Slots start their worker at once so that the first thread does not wait for it to boot. */
  #newWorker(): SlotWorker {
    return new SlotWorker({ maxOldGenerationSizeMb: this.memoryLimitMb });
  }

  /** Gives a slot a fresh worker (and no assembly). */
  #replaceWorker(slot: Slot): void {
    void slot.worker.terminate();
    slot.worker = this.#newWorker();
    slot.module = undefined;
  }

  #cancel(p: Pending): void {
    if (p.cancelled) return;
    p.cancelled = true;
    const i = this.#queue.indexOf(p);
    if (i !== -1) {
      this.#queue.splice(i, 1);
      p.reject(new CancelledError('The thread was cancelled before it started.'));
      return;
    }
    const slot = p.slot;
    if (slot === undefined || slot.current !== p) return; // already finished
    // Code cannot be interrupted inside a worker: the only sure stop is to end the worker.
    p.reject(new CancelledError('The thread was cancelled.'));
    void slot.worker.terminate();
  }

  /** Starts queued threads while slots are free. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const p = this.#queue[0]!;
      const slot = this.#takeSlot(p.job.module);
      if (slot === undefined) return;
      this.#queue.shift();
      this.#start(slot, p);
    }
  }

  /** The idle slot for `module`: one that already loaded it, else a fresh one, else one recycled. */
  #takeSlot(module: string): Slot | undefined {
    let fresh: Slot | undefined;
    let other: Slot | undefined;
    for (const s of this.#slots) {
      if (s.current !== undefined) continue;
      // An idle worker that died (it should not) is replaced when next needed.
      if (!s.worker.alive) this.#replaceWorker(s);
      if (s.module === module) return s;
      if (s.module === undefined) fresh ??= s;
      else other ??= s;
    }
    if (fresh !== undefined) return fresh;
    if (other !== undefined) this.#replaceWorker(other);
    return other;
  }

  #start(slot: Slot, p: Pending): void {
    slot.current = p;
    slot.module = p.job.module;
    p.slot = slot;
    this.onFreeSlotsChange?.(this.freeSlots);
    const finish = (): void => {
      if (slot.current === p) slot.current = undefined;
      if (this.#closed) return;
      this.#pump();
      this.onFreeSlotsChange?.(this.freeSlots);
    };
    slot.worker.run(p.job, p.events).then(
      (outcome) => {
        finish();
        if (!p.cancelled) p.resolve(outcome);
      },
      (err: Error) => {
        // Anything but an error thrown by thread code means the worker is gone (out of memory,
        // process.exit, cancelled): it cannot run the next thread.
        if (!(err instanceof ThreadError) && slot.current === p && !this.#closed) this.#replaceWorker(slot);
        finish();
        if (!p.cancelled) p.reject(describeSlotFailure(err, this.memoryLimitMb));
      },
    );
  }
}

/** Names the likely cause when a thread's worker died rather than the thread throwing. */
function describeSlotFailure(err: Error, memoryLimitMb: number): Error {
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const e = new Error(
      `The thread ran out of memory: it exceeded the per-thread heap limit of ${memoryLimitMb} MB ` +
        `(raise it with the peer's memory limit option). ${err.message}`,
    );
    e.name = 'ThreadOutOfMemoryError';
    return e;
  }
  return err;
}
