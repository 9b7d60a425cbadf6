/**
 * The address resolver (paper's name): which peer runs a thread now, so that a message to it goes straight to
 * that peer. Each peer keeps one resolver for the virtual computers it works for; the owner's deployer is the
 * authority and publishes every change with its placement publisher (owner/placement-publisher.ts).
 *
 * ```ts
 * const resolver = new AddressResolver({ locate: (vc, owner, thread) => askTheOwner(...), log });
 * const where = await resolver.resolve(vc, owner, 3);   // waits while thread 3 is queued or moving
 * if (where.state === 'running') send(where.host!, ...);  // else it ended: messages to it are dropped
 * resolver.on((vc, thread, now, before) => ...);        // proxies re-send when a receiver moved
 * ```
 *
 * A placement is `(epoch, state, host)`. Epochs grow with every placement of the thread (the deployer's
 * `placements`); at one epoch the state only moves forward: running → queued (its host was lost) → ended. So
 * of two reports about a thread the newer is the one with the higher (epoch, state rank), whatever order they
 * arrived in: pushes from the deployer, answers to `thread-locate`, and this peer's own executions.
 */
import type { Logger } from '../../protocol/log.ts';
import type { MessageOf } from '../../protocol/messages.ts';

export type PlacementState = MessageOf<'thread-placed'>['state'];

/** Where a thread is, as far as this peer knows. */
export interface Placement {
  readonly epoch: number;
  readonly state: PlacementState;
  /** The peer running it, for state 'running'. */
  readonly host?: string;
}

/** Whether the thread will never run again: messages to it are dropped (and count as delivered). */
export function hasEnded(p: Placement): boolean {
  return p.state === 'done' || p.state === 'failed' || p.state === 'cancelled';
}

const RANK: Record<PlacementState, number> = { running: 0, queued: 1, done: 2, failed: 2, cancelled: 2 };

/** Whether `a` is a later placement report than `b`. */
export function isNewer(a: Placement, b: Placement | undefined): boolean {
  if (b === undefined) return true;
  return a.epoch > b.epoch || (a.epoch === b.epoch && RANK[a.state] > RANK[b.state]);
}

export type PlacementListener = (vc: string, thread: number, now: Placement, before: Placement | undefined) => void;

export interface AddressResolverOptions {
  /** Asks the owner of `vc` where `thread` is (`thread-locate`). */
  locate(vc: string, owner: string, thread: number): Promise<Placement>;
  log: Logger;
  /** Pause before asking the owner again after a peer said the thread is not there. @default 50 */
  retryMs?: number;
}

interface Entry {
  placement: Placement | undefined;
  /** An epoch whose host said the thread is not there: not used again until the owner confirms it. */
  suspect: number | undefined;
  /** Callers of resolve() waiting for the thread to run somewhere (or end). */
  waiters: ((p: Placement) => void)[];
  /** A locate request is in flight or scheduled. */
  locating: boolean;
}

export class AddressResolver {
  readonly #opts: AddressResolverOptions;
  readonly #vcs = new Map<string, Map<number, Entry>>();
  readonly #listeners: PlacementListener[] = [];
  readonly #retryMs: number;

  constructor(opts: AddressResolverOptions) {
    this.#opts = opts;
    this.#retryMs = opts.retryMs ?? 50;
  }

  /** Calls `listener` for every change of a thread's placement. */
  on(listener: PlacementListener): void {
    this.#listeners.push(listener);
  }

  /** What this peer knows of `thread` now (undefined: nothing yet). */
  current(vc: string, thread: number): Placement | undefined {
    return this.#vcs.get(vc)?.get(thread)?.placement;
  }

  /** Records a placement report; returns whether it was news. */
  update(vc: string, thread: number, p: Placement): boolean {
    const e = this.#entry(vc, thread);
    if (!isNewer(p, e.placement)) return false;
    const before = e.placement;
    e.placement = p;
    e.suspect = undefined;
    this.#wake(e);
    for (const l of this.#listeners) l(vc, thread, p, before);
    return true;
  }

  /**
   * The placement of a running (or ended) thread: at once when known, else once the owner says where it
   * runs. Waits as long as the thread is queued or moving.
   */
  resolve(vc: string, owner: string, thread: number): Promise<Placement> {
    const e = this.#entry(vc, thread);
    if (usable(e)) return Promise.resolve(e.placement!);
    const waiting = new Promise<Placement>((resolve) => e.waiters.push(resolve));
    // Unknown: ask now. Queued or refused: the owner pushes the next placement; ask anyway, a little later,
    // in case that push was missed or the refusing peer simply had not received its exec yet.
    this.#locate(vc, owner, thread, e.placement === undefined ? 0 : e.suspect !== undefined ? this.#retryMs : this.#retryMs * 20);
    return waiting;
  }

  /** A peer said `thread` does not run there at `epoch`: do not use that placement until the owner confirms it. */
  invalidate(vc: string, thread: number, epoch: number): void {
    const e = this.#entry(vc, thread);
    if (e.placement?.state === 'running' && e.placement.epoch === epoch) e.suspect = epoch;
  }

  /** Forgets a virtual computer (this peer left it). */
  forget(vc: string): void {
    this.#vcs.delete(vc);
  }

  #entry(vc: string, thread: number): Entry {
    let threads = this.#vcs.get(vc);
    if (threads === undefined) this.#vcs.set(vc, (threads = new Map()));
    let e = threads.get(thread);
    if (e === undefined) threads.set(thread, (e = { placement: undefined, suspect: undefined, waiters: [], locating: false }));
    return e;
  }

  #wake(e: Entry): void {
    if (!usable(e)) return;
    const waiters = e.waiters.splice(0);
    for (const w of waiters) w(e.placement!);
  }

  #locate(vc: string, owner: string, thread: number, delayMs: number): void {
    const e = this.#entry(vc, thread);
    if (e.locating) return;
    e.locating = true;
    const ask = (): void => {
      this.#opts.locate(vc, owner, thread).then(
        (p) => {
          e.locating = false;
          if (!this.update(vc, thread, p) && e.suspect !== undefined && e.placement?.epoch === p.epoch && p.state === 'running') {
            // The owner confirms the placement that was refused: its exec was still on the way there. Try again.
            e.suspect = undefined;
            this.#wake(e);
          }
          if (e.waiters.length > 0) this.#locate(vc, owner, thread, this.#retryMs * 20);
        },
        (err: unknown) => {
          e.locating = false;
          this.#opts.log.debug(`cannot locate thread ${thread} of ${vc} at its owner ${owner}: ${(err as Error).message}`);
          if (this.#vcs.has(vc) && e.waiters.length > 0) this.#locate(vc, owner, thread, 1000);
        },
      );
    };
    if (delayMs <= 0) ask();
    else setTimeout(ask, delayMs).unref();
  }
}

function usable(e: Entry): boolean {
  const p = e.placement;
  if (p === undefined) return false;
  return hasEnded(p) || (p.state === 'running' && e.suspect !== p.epoch);
}
