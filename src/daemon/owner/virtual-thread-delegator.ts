/**
 * The virtual thread delegator (paper's name): places each thread of one virtual computer on an enrolled
 * worker, and queues threads while every worker is busy.
 *
 * Placement: among the workers with a free slot, the one with the best speed score (then the most free
 * slots, then the fewest of this virtual computer's threads). A worker's free slots, as the delegator sees
 * them, are its slots minus the threads placed there by this delegator minus the slots it last reported busy
 * with other virtual computers' threads (`others`, carried by every exec-result and exec-error). Several
 * virtual computers share a worker, so this is an estimate: a worker that gets a thread with no slot free
 * queues it itself.
 *
 * A thread that resumes after its host died or left goes first in the queue and, if one of them has a free
 * slot, to a worker that holds its newest checkpoint (`prefer`): nothing to transfer.
 *
 * Every placement of a thread gets a new `epoch`; a report carrying an older epoch than the thread's current
 * one, or coming from another peer than its current host, is ignored.
 */

/** A worker enrolled in the virtual computer. */
export interface WorkerRecord {
  readonly id: string;
  readonly slots: number;
  readonly speed: number;
  /** Slots busy with other virtual computers' threads, as last reported. */
  others: number;
  /** This virtual computer's threads placed on the worker. */
  readonly running: Set<number>;
}

export type ThreadState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** What the deployer knows of one thread. */
export interface ThreadRecord {
  readonly thread: number;
  readonly assembly: string;
  readonly fn: string;
  /** Spawn arguments; dropped once the thread finished. */
  args: unknown[] | undefined;
  /** `thread.count` the thread sees. */
  readonly count: number;
  state: ThreadState;
  host: string | undefined;
  /** Placements so far; the current one's epoch is `placements`. */
  placements: number;
  /**
   * The current placement's task token: 16 random bytes issued in its `exec`, which its host echoes in every
   * report (compared in constant time, besides the host's id and the epoch). Undefined while not placed.
   */
  token?: Uint8Array;
  /** Progress values forwarded to the owner. */
  progress: number;
  /** Highest progress sequence number forwarded: a restarted thread's repeats are dropped. */
  lastSeq: number;
  /** Peers that hold the current placement's checkpoints (recovery.ts); empty: it runs unprotected. */
  holders?: string[];
  /** Workers to place it on if one has a free slot: they hold its newest checkpoint (nothing to transfer). */
  prefer?: ReadonlySet<string>;
  /** Why it left its last host, until it is placed again (the application's 'migrated' event). */
  moved?: { from: string; reason: string };
  /** Its moves so far, newest last (`ppp2p status`). */
  migrations?: { from: string; to: string; reason: string; at: number; fromCheckpoint: boolean }[];
}

/** What the delegator does to place a thread; implemented by the deployer. */
export interface PlacementSink {
  dispatch(worker: WorkerRecord, thread: ThreadRecord): void;
}

export class VirtualThreadDelegator {
  readonly workers = new Map<string, WorkerRecord>();
  readonly #queue: ThreadRecord[] = [];
  readonly #sink: PlacementSink;

  constructor(sink: PlacementSink) {
    this.#sink = sink;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Free slots of a worker as this delegator sees them. */
  available(w: WorkerRecord): number {
    return w.slots - w.running.size - w.others;
  }

  addWorker(w: WorkerRecord): void {
    this.workers.set(w.id, w);
    this.place();
  }

  /** Removes a worker; returns the threads that were placed on it (their state is left to the caller). */
  removeWorker(id: string): number[] {
    const w = this.workers.get(id);
    if (w === undefined) return [];
    this.workers.delete(id);
    return [...w.running];
  }

  /** Queues a new thread, or one whose worker was lost (`first`: ahead of threads never started). */
  enqueue(t: ThreadRecord, first = false): void {
    t.state = 'queued';
    t.host = undefined;
    if (first) this.#queue.unshift(t);
    else this.#queue.push(t);
  }

  /** Drops a queued thread; false if it was not queued. */
  dequeue(t: ThreadRecord): boolean {
    const i = this.#queue.indexOf(t);
    if (i === -1) return false;
    this.#queue.splice(i, 1);
    return true;
  }

  /** A thread left its worker (finished, failed, cancelled): the slot is free again. */
  release(t: ThreadRecord, others?: number): void {
    const w = t.host === undefined ? undefined : this.workers.get(t.host);
    if (w !== undefined) {
      w.running.delete(t.thread);
      if (others !== undefined) w.others = others;
    }
  }

  /** Places queued threads while some worker has a free slot. */
  place(): void {
    while (this.#queue.length > 0) {
      const prefer = this.#queue[0]!.prefer;
      const w = (prefer !== undefined ? this.#best(prefer) : undefined) ?? this.#best();
      if (w === undefined) return;
      const t = this.#queue.shift()!;
      t.state = 'running';
      t.host = w.id;
      t.placements++;
      w.running.add(t.thread);
      this.#sink.dispatch(w, t);
    }
  }

  /** The best worker with a free slot (among `only`, if given). */
  #best(only?: ReadonlySet<string>): WorkerRecord | undefined {
    let best: WorkerRecord | undefined;
    let bestFree = 0;
    for (const w of this.workers.values()) {
      const free = this.available(w);
      if (free <= 0 || (only !== undefined && !only.has(w.id))) continue;
      if (
        best === undefined ||
        w.speed > best.speed ||
        (w.speed === best.speed && (free > bestFree || (free === bestFree && w.running.size < best.running.size)))
      ) {
        best = w;
        bestFree = free;
      }
    }
    return best;
  }
}
