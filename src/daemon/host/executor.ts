/**
 * Executors: the slots in which this peer runs virtual threads, off the daemon's event loop.
 *
 * Each slot runs one virtual thread at a time in a worker (frame-runner.ts `SlotWorker`) with a heap limit per
 * thread. Sandboxed (sandbox.ts), a slot's worker lives in an executor process of its own, started for one owner and
 * never shared with another: a thread of another owner gets a new process in that slot. Without a sandbox
 * (`--sandbox off --trusted-swarm`) it is a worker thread of the daemon. A slot stays warm between threads: starting
 * a worker costs far more than a trivial thread. A slot serves one assembly at a time, because the runtime's frame
 * registry is per realm and two builds of the same module would claim the same frame ids; a thread of another
 * assembly gets a fresh worker in that slot.
 *
 * Threads beyond the free slots wait in a bounded-concurrency queue (p-queue, one task per thread, concurrency =
 * slots) where placements that resume from a checkpoint go first: they hold up their virtual computer's recovery.
 */
import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';
import { ResourceLimitError, ThreadError } from '../../runtime/errors.ts';
import { CancelledError, ExecutorCrashError } from '../errors.ts';
import { SlotWorker, type SlotEvents, type SlotOutcome } from './frame-runner.ts';
import type { HostNotice, StartThread } from '../../runtime/worker-messages.ts';
import { DEFAULT_EXECUTOR_MEMORY_MB, DEFAULT_OUTPUT_BYTES, type SandboxLimits, type SandboxPlan } from './sandbox.ts';
import { ExecutorProcess } from './sandboxed-executor.ts';
import type { Logger } from '../../protocol/log.ts';

export interface ExecutorOptions {
  /** Threads that run at once. @default os.availableParallelism() */
  slots?: number;
  /** Heap limit of each virtual thread in MB (`maxOldGenerationSizeMb`). @default 512 */
  memoryLimitMb?: number;
  /** How threads are isolated. @default sandbox off (worker threads of this process) */
  sandbox?: SandboxPlan;
  /** Limits of sandboxed executors and of every thread (CPU and memory are enforced by sandboxed executors only). */
  limits?: Partial<Omit<SandboxLimits, 'heapMb'>>;
  /** Where the assemblies of `owner` are installed (the one directory its executors may read). Needed when sandboxed. */
  assemblyDirFor?: (owner: string) => string;
  log?: Logger;
}

/** One virtual thread for an executor: what runs, from where, as which thread, for whom. */
export type ExecJob = Omit<StartThread, 'type'> & {
  /** The owner whose code this is: sandboxed, its threads never share a process with another owner's. */
  owner?: string;
};

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
  worker: SlotWorker | undefined;
  /** The assembly (module path) this worker has loaded, once it ran a thread. */
  module: string | undefined;
  /** Sandboxed: the executor process of this slot and the owner it serves. */
  process: ExecutorProcess | undefined;
  current: Pending | undefined;
}

interface Pending {
  job: ExecJob;
  events: SlotEvents;
  resolve(o: SlotOutcome): void;
  reject(e: Error): void;
  slot: Slot | undefined;
  cancelled: boolean;
  /** Resolves when the placement no longer holds a slot (or never will): the queue's task ends with it. */
  freed: () => void;
}

const NO_OWNER = '';

export class Executors {
  readonly slots: number;
  readonly memoryLimitMb: number;
  readonly sandbox: SandboxPlan | undefined;
  readonly limits: SandboxLimits;
  readonly #slots: Slot[] = [];
  readonly #queue: PQueue;
  readonly #assemblyDirFor: ((owner: string) => string) | undefined;
  readonly #log: Logger | undefined;
  #waiting = 0;
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
    this.sandbox = opts.sandbox?.mode === 'off' ? undefined : opts.sandbox;
    this.limits = {
      heapMb: mem,
      memoryMb: opts.limits?.memoryMb ?? Math.max(DEFAULT_EXECUTOR_MEMORY_MB, mem + 512),
      outputBytes: opts.limits?.outputBytes ?? DEFAULT_OUTPUT_BYTES,
      ...(opts.limits?.cpuSeconds !== undefined ? { cpuSeconds: opts.limits.cpuSeconds } : {}),
      ...(opts.limits?.wallSeconds !== undefined ? { wallSeconds: opts.limits.wallSeconds } : {}),
    };
    if (this.sandbox !== undefined && opts.assemblyDirFor === undefined) throw new TypeError('options.assemblyDirFor is needed with a sandbox');
    this.#assemblyDirFor = opts.assemblyDirFor;
    this.#log = opts.log;
    this.#queue = new PQueue({ concurrency: Math.max(1, slots) });
    for (let i = 0; i < slots; i++) {
      // Unsandboxed slots start their worker at once so that the first thread does not wait for it to boot; a
      // sandboxed slot's process is for one owner, unknown until a thread (or an enrolment: prepare()) comes.
      this.#slots.push({ worker: this.sandbox === undefined ? this.#localWorker() : undefined, module: undefined, process: undefined, current: undefined });
    }
  }

  /** Slots not running a thread. */
  get freeSlots(): number {
    let free = 0;
    for (const s of this.#slots) if (s.current === undefined) free++;
    return free;
  }

  get queued(): number {
    return this.#waiting;
  }

  /** Resolves once every slot's worker has booted. */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker?.ready));
  }

  /**
   * Sandboxed: starts an executor process for `owner` in an idle slot that has none, so that its first thread does
   * not wait for a process to start. Nothing unsandboxed, or when the owner already has a process here.
   */
  prepare(owner: string): void {
    if (this.sandbox === undefined || this.#closed) return;
    if (this.#slots.some((s) => s.process?.owner === owner && s.process.alive)) return;
    const idle = this.#slots.find((s) => s.current === undefined && (s.process === undefined || !s.process.alive));
    if (idle === undefined) return;
    this.#giveProcess(idle, owner);
    idle.worker = new SlotWorker(idle.process!.openPort());
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
      pending = { job, events, resolve, reject, slot: undefined, cancelled: false, freed: () => {} };
    });
    this.#waiting++;
    void this.#queue.add(
      () =>
        new Promise<void>((freed) => {
          this.#waiting--;
          if (pending.cancelled || this.#closed) return freed();
          pending.freed = freed;
          let slot: Slot;
          try {
            slot = this.#takeSlot(job.module, job.owner ?? NO_OWNER);
          } catch (err) {
            // No executor could be started (compiled code missing, data dir unwritable): this thread fails, the slot stays free.
            pending.reject(err instanceof Error ? err : new Error(String(err)));
            return freed();
          }
          this.#start(slot, pending);
        }),
      // Resumed placements first: their virtual computer's recovery waits on them.
      { priority: job.snapshot !== undefined ? 1 : 0 },
    );
    return {
      done,
      cancel: () => this.#cancel(pending),
      notify: (notice) => {
        if (pending.slot?.current === pending) pending.slot.worker?.notify(pending.events, notice);
      },
      requestSnapshot: () => {
        if (pending.slot?.current === pending) pending.slot.worker?.requestSnapshot();
      },
      get started() {
        return pending.slot !== undefined;
      },
    };
  }

  /** Stops every slot; running and queued threads reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    this.#waiting = 0;
    await Promise.all(
      this.#slots.map(async (s) => {
        await s.worker?.terminate();
        s.process?.kill();
      }),
    );
  }

  #localWorker(): SlotWorker {
    return new SlotWorker({ maxOldGenerationSizeMb: this.memoryLimitMb });
  }

  /** Kills `slot`'s process (if any) and starts one for `owner`. */
  #giveProcess(slot: Slot, owner: string): void {
    void slot.worker?.terminate();
    slot.worker = undefined;
    slot.module = undefined;
    slot.process?.kill();
    slot.process = new ExecutorProcess(this.sandbox!, this.limits, owner, this.#assemblyDirFor!(owner), this.#log);
  }

  /** Gives a slot a fresh worker (and no assembly), in its owner's process when sandboxed. */
  #replaceWorker(slot: Slot, owner: string): void {
    void slot.worker?.terminate();
    slot.module = undefined;
    if (this.sandbox === undefined) {
      slot.worker = this.#localWorker();
      return;
    }
    if (slot.process === undefined || !slot.process.alive || slot.process.owner !== owner) this.#giveProcess(slot, owner);
    slot.worker = new SlotWorker(slot.process!.openPort());
  }

  #cancel(p: Pending): void {
    if (p.cancelled) return;
    p.cancelled = true;
    const slot = p.slot;
    if (slot === undefined) {
      // Still queued: its task starts nothing when its turn comes.
      p.reject(new CancelledError('The thread was cancelled before it started.'));
      return;
    }
    if (slot.current !== p) return; // already finished
    // Code cannot be interrupted inside a worker: the only sure stop is to end the worker.
    p.reject(new CancelledError('The thread was cancelled.'));
    void slot.worker?.terminate();
  }

  /**
   * An idle slot for `module` of `owner` (one exists: the queue runs at most `slots` threads): one whose worker
   * already loaded it, else one whose process serves the owner, else a fresh one, else one recycled.
   */
  #takeSlot(module: string, owner: string): Slot {
    // Whether the slot's process runs this owner's code (unsandboxed: every slot does), and whether it is untouched.
    const serves = (s: Slot): boolean => this.sandbox === undefined || (s.process?.alive === true && s.process.owner === owner);
    const untouched = (s: Slot): boolean => (this.sandbox === undefined ? s.module === undefined : s.process?.alive !== true);
    // Best first: its worker has this module; its worker is ready and empty; a new worker in its process; a new
    // process in an unused slot; another owner's process replaced.
    const rank = (s: Slot): number => {
      if (serves(s)) return s.worker?.alive !== true ? 2 : s.module === module ? 0 : s.module === undefined ? 1 : 2;
      return untouched(s) ? 3 : 4;
    };
    let slot: Slot | undefined;
    for (const s of this.#slots) if (s.current === undefined && (slot === undefined || rank(s) < rank(slot))) slot = s;
    const reusable = slot!.worker?.alive === true && (slot!.module === undefined || slot!.module === module) && serves(slot!);
    if (!reusable) this.#replaceWorker(slot!, owner);
    return slot!;
  }

  #start(slot: Slot, p: Pending): void {
    slot.current = p;
    slot.module = p.job.module;
    p.slot = slot;
    this.onFreeSlotsChange?.(this.freeSlots);
    const worker = slot.worker!;
    let wall: NodeJS.Timeout | undefined;
    let overWall: ResourceLimitError | undefined;
    if (this.limits.wallSeconds !== undefined) {
      const limit = this.limits.wallSeconds;
      wall = setTimeout(() => {
        overWall = new ResourceLimitError('wall', `Resource limit: the thread ran for ${limit} s, its wall-time limit on this peer.`);
        void worker.terminate();
      }, limit * 1000);
      wall.unref();
    }
    const finish = (): void => {
      clearTimeout(wall);
      if (slot.current === p) slot.current = undefined;
      p.freed();
      if (!this.#closed) this.onFreeSlotsChange?.(this.freeSlots);
    };
    const { owner: _owner, ...job } = p.job;
    worker.run(job, p.events).then(
      (outcome) => {
        finish();
        if (!p.cancelled) p.resolve(outcome);
      },
      (err: Error) => {
        finish();
        if (!p.cancelled) p.reject(overWall ?? describeSlotFailure(err, this.memoryLimitMb, worker.alive));
      },
    );
  }
}

/**
 * What a failed run was: the thread's own error (its worker lives on), a resource limit, or its executor dying
 * under it (out of memory, `process.exit`, killed: a crash its deployer may retry).
 */
function describeSlotFailure(err: Error, memoryLimitMb: number, workerAlive: boolean): Error {
  if (err instanceof ResourceLimitError || err instanceof ExecutorCrashError) return err;
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ResourceLimitError(
      'heap',
      `Resource limit: the thread ran out of memory: it exceeded the per-thread heap limit of ${memoryLimitMb} MB ` +
        `(raise it with the peer's memory limit option). ${err.message}`,
    );
  }
  if (err instanceof ThreadError && workerAlive) return err;
  return new ExecutorCrashError(`the thread's executor died: ${err.message}`);
}
