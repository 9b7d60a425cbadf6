/**
 * The placement publisher: the owner's side of address resolution (host/address-resolver.ts).
 */
import type { PeerLinks } from '../peer-links.ts';
import type { Placement } from '../host/address-resolver.ts';
import type { ThreadRecord } from './virtual-thread-delegator.ts';

/**
 * The owner's side: the deployer tells it about every placement change, and it pushes `thread-placed` to the
 * virtual computer's workers (and to this peer's own resolver), and answers `thread-locate`.
 */
export class PlacementPublisher {
  readonly #vc: string;
  readonly #links: PeerLinks;
  readonly #workers: () => Iterable<string>;
  readonly #local: ((thread: number, p: Placement) => void) | undefined;
  /** Threads that ended, so that late messages to them are dropped instead of waiting. */
  readonly #ended = new Map<number, Placement>();

  constructor(init: {
    vc: string;
    links: PeerLinks;
    /** Peers to push to: the enrolled workers. */
    workers: () => Iterable<string>;
    /** This peer's own resolver, updated without a message. */
    local?: (thread: number, p: Placement) => void;
  }) {
    this.#vc = init.vc;
    this.#links = init.links;
    this.#workers = init.workers;
    this.#local = init.local;
  }

  /** `t` was placed on `t.host` (a start, a restart or a resume). */
  placed(t: ThreadRecord): void {
    this.#publish(t.thread, { epoch: t.placements, state: 'running', host: t.host! });
  }

  /** `t` lost its host and waits to be placed again: messages to it are held by their senders. */
  queued(t: ThreadRecord): void {
    this.#publish(t.thread, { epoch: t.placements, state: 'queued' });
  }

  /** `t` ended for good. */
  ended(t: ThreadRecord): void {
    const p: Placement = { epoch: t.placements, state: t.state === 'failed' || t.state === 'cancelled' ? t.state : 'done' };
    this.#ended.set(t.thread, p);
    this.#publish(t.thread, p);
  }

  /** Answers `thread-locate` from the deployer's records (`t` undefined: not a live thread of this virtual computer). */
  locate(thread: number, t: ThreadRecord | undefined): Placement {
    if (t === undefined) return this.#ended.get(thread) ?? { epoch: 0, state: 'done' };
    if (t.state === 'running' && t.host !== undefined) return { epoch: t.placements, state: 'running', host: t.host };
    if (t.state === 'queued') return { epoch: t.placements, state: 'queued' };
    return { epoch: t.placements, state: t.state === 'failed' || t.state === 'cancelled' ? t.state : 'done' };
  }

  #publish(thread: number, p: Placement): void {
    this.#local?.(thread, p);
    const msg = { t: 'thread-placed' as const, vc: this.#vc, thread, epoch: p.epoch, state: p.state, ...(p.host !== undefined ? { host: p.host } : {}) };
    for (const id of this.#workers()) if (id !== this.#links.selfId) this.#links.send(id, msg);
  }
}
