/**
 * The checkpoint store (paper's name): dormant copies of other peers' virtual threads, held here so that a
 * thread whose host dies can resume from its last checkpoint on another peer (ideally this one: a holder
 * resumes without any transfer). See docs/effects-and-recovery.md.
 *
 * ```ts
 * const store = new CheckpointStore();
 * await store.put({ vc, owner, thread: 3, epoch: 2, n: 17, snapshot });   // from `checkpoint-put`
 * store.get(vc, 3, { epoch: 2, n: 17 });                                 // for `checkpoint-fetch`
 * store.dropBelow(vc, 3, { epoch: 2, n: 17 }, owner);                     // superseded versions go
 * ```
 *
 * Invariants:
 * - A version is `(epoch, n)`: the placement that took it and its snapshot number, ordered lexicographically.
 *   A copy is dropped only when the owner's deployer says so (`checkpoint-drop` below a newer acknowledged
 *   version, `checkpoint-release` when the virtual computer ends), when the owner peer is declared dead, or to
 *   keep at most {@link MAX_VERSIONS_PER_THREAD} per thread (the oldest goes first). The owner's directory
 *   therefore never points at a version its holders already dropped on their own: a holder keeps what it
 *   acknowledged until the owner has heard of something newer.
 * - Only the owner named in a virtual computer's first copy may drop its copies; a copy naming another
 *   owner for a known virtual computer is refused.
 * - Copies live in memory: a holder that dies loses them, and the owner's deployer replicates them again.
 */
import { CheckpointNotHeldError, CheckpointOwnerError, CheckpointOwnerGoneError, CheckpointStoreFullError, ForbiddenError } from '../../protocol/errors.ts';
import type { Logger } from '../../protocol/log.ts';
import type { HandlerTable } from '../message-handlers.ts';
import type { PeerLinks } from '../peer-links.ts';

/** A checkpoint version: placement epoch and snapshot number. */
export interface CheckpointVersion {
  readonly epoch: number;
  readonly n: number;
}

/** Orders versions: negative if `a` is older than `b`. */
export function compareVersions(a: CheckpointVersion, b: CheckpointVersion): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.n - b.n;
}

export function formatVersion(v: CheckpointVersion): string {
  return `${v.epoch}.${v.n}`;
}

/** Copies kept per thread at most; more only arrive while the owner has not yet heard of the newest. */
export const MAX_VERSIONS_PER_THREAD = 4;
/** Ended virtual computers remembered (to refuse copies that arrive after the end). */
const MAX_ENDED_REMEMBERED = 10_000;

export interface CheckpointStoreOptions {
  /** Most snapshot bytes held for others at once. @default 1 GiB */
  maxBytes?: number;
  /**
   * Fault injection for tests only: wait this long before storing and acknowledging each copy, so that a
   * test can kill a peer while a transfer is in progress. Peers read it from PPP2P_FAULT_CHECKPOINT_STORE_DELAY_MS.
   * @default 0
   */
  storeDelayMs?: number;
  /** Whether an owner may still get copies kept (false once it was declared dead). @default always true */
  ownerAlive?: (owner: string) => boolean;
}

interface Copy extends CheckpointVersion {
  readonly snapshot: Uint8Array;
  readonly at: number;
}

interface VcCopies {
  readonly owner: string;
  readonly threads: Map<number, Copy[]>;
  /** Threads the owner dropped entirely (finished): late copies of them are not kept. */
  readonly finished: Set<number>;
}

export interface CheckpointPut extends CheckpointVersion {
  vc: string;
  owner: string;
  thread: number;
  snapshot: Uint8Array;
}

export class CheckpointStore {
  readonly maxBytes: number;
  readonly #storeDelayMs: number;
  readonly #ownerAlive: (owner: string) => boolean;
  readonly #vcs = new Map<string, VcCopies>();
  /** Virtual computers released or whose owner died, newest last: late copies for them are not kept. */
  readonly #ended = new Set<string>();
  #bytes = 0;
  #receiving = 0;

  constructor(opts: CheckpointStoreOptions = {}) {
    const max = opts.maxBytes ?? 1024 ** 3;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`options.maxBytes must be a non-negative integer, got ${max}`);
    this.maxBytes = max;
    this.#storeDelayMs = opts.storeDelayMs ?? 0;
    this.#ownerAlive = opts.ownerAlive ?? (() => true);
  }

  /** Copies held, their bytes, and puts being received (acknowledged soon). */
  stats(): { threads: number; versions: number; bytes: number; receiving: number } {
    let threads = 0;
    let versions = 0;
    for (const v of this.#vcs.values()) {
      threads += v.threads.size;
      for (const copies of v.threads.values()) versions += copies.length;
    }
    return { threads, versions, bytes: this.#bytes, receiving: this.#receiving };
  }

  /** Keeps a copy; resolves once it is stored (the caller then acknowledges it). */
  async put(p: CheckpointPut): Promise<void> {
    this.#receiving++;
    try {
      if (this.#storeDelayMs > 0) await new Promise((r) => setTimeout(r, this.#storeDelayMs));
      this.#store(p);
    } finally {
      this.#receiving--;
    }
  }

  #store(p: CheckpointPut): void {
    // Checked when storing, not when the copy arrived: a copy must not outlive an owner that died meanwhile.
    if (!this.#ownerAlive(p.owner)) throw new CheckpointOwnerGoneError(`owner ${p.owner} of virtual computer ${p.vc} was declared dead`);
    if (this.#ended.has(p.vc)) return;
    let vc = this.#vcs.get(p.vc);
    if (vc !== undefined && vc.owner !== p.owner) {
      throw new CheckpointOwnerError(`virtual computer ${p.vc} belongs to ${vc.owner}, not ${p.owner}`);
    }
    if (vc?.finished.has(p.thread) === true) return;
    if (this.#bytes + p.snapshot.byteLength > this.maxBytes) {
      throw new CheckpointStoreFullError(
        `cannot hold ${p.snapshot.byteLength} more bytes: ${this.#bytes} of ${this.maxBytes} held for others`,
      );
    }
    if (vc === undefined) this.#vcs.set(p.vc, (vc = { owner: p.owner, threads: new Map(), finished: new Set() }));
    let copies = vc.threads.get(p.thread);
    if (copies === undefined) vc.threads.set(p.thread, (copies = []));
    if (copies.some((c) => compareVersions(c, p) === 0)) return; // a repeat (a retried put)
    // A view into a larger receive buffer would pin all of it for as long as the copy is kept.
    const bytes = p.snapshot.byteOffset === 0 && p.snapshot.byteLength === p.snapshot.buffer.byteLength ? p.snapshot : p.snapshot.slice();
    copies.push({ epoch: p.epoch, n: p.n, snapshot: bytes, at: Date.now() });
    copies.sort(compareVersions);
    this.#bytes += bytes.byteLength;
    while (copies.length > MAX_VERSIONS_PER_THREAD) this.#bytes -= copies.shift()!.snapshot.byteLength;
  }

  /** The copy of one version, if held. */
  get(vc: string, thread: number, v: CheckpointVersion): Uint8Array | undefined {
    return this.#vcs.get(vc)?.threads.get(thread)?.find((c) => compareVersions(c, v) === 0)?.snapshot;
  }

  /** The owner of a virtual computer whose copies are held here. */
  ownerOf(vc: string): string | undefined {
    return this.#vcs.get(vc)?.owner;
  }

  /** Whether any copy of the thread is held. */
  holds(vc: string, thread: number): boolean {
    return (this.#vcs.get(vc)?.threads.get(thread)?.length ?? 0) > 0;
  }

  /**
   * Drops the thread's versions older than `below`, or all of them (and any that arrive later) when `below` is
   * undefined. Only the virtual computer's owner may; returns false if `from` is not it.
   */
  dropBelow(vcId: string, thread: number, below: CheckpointVersion | undefined, from: string): boolean {
    const vc = this.#vcs.get(vcId);
    if (vc === undefined) return true;
    if (vc.owner !== from) return false;
    const copies = vc.threads.get(thread) ?? [];
    const keep = below === undefined ? [] : copies.filter((c) => compareVersions(c, below) >= 0);
    for (const c of copies) if (!keep.includes(c)) this.#bytes -= c.snapshot.byteLength;
    if (keep.length > 0) vc.threads.set(thread, keep);
    else vc.threads.delete(thread);
    if (below === undefined) vc.finished.add(thread);
    return true;
  }

  /** Drops everything held for a virtual computer (it ended). Only its owner may; returns false if `from` is not it. */
  release(vcId: string, from: string): boolean {
    const vc = this.#vcs.get(vcId);
    if (vc === undefined) return true;
    if (vc.owner !== from) return false;
    this.#forget(vcId, vc);
    return true;
  }

  /** Drops everything held for the virtual computers of `owner` (declared dead): they ended with it. Returns how many copies went. */
  ownerGone(owner: string): number {
    let dropped = 0;
    for (const [id, vc] of [...this.#vcs]) {
      if (vc.owner !== owner) continue;
      for (const copies of vc.threads.values()) dropped += copies.length;
      this.#forget(id, vc);
    }
    return dropped;
  }

  clear(): void {
    this.#vcs.clear();
    this.#bytes = 0;
  }

  #forget(id: string, vc: VcCopies): void {
    for (const copies of vc.threads.values()) for (const c of copies) this.#bytes -= c.snapshot.byteLength;
    this.#vcs.delete(id);
    this.#ended.add(id);
    if (this.#ended.size > MAX_ENDED_REMEMBERED) this.#ended.delete(this.#ended.values().next().value!);
  }
}

/** How long a holder has to pass a copy on to a new holder. */
const REPLICATE_PUT_TIMEOUT_MS = 30_000;

/**
 * A holder's handler table: owners put, fetch, drop and release the copies they gave this peer, and have one copied
 * on to a new holder when another holder died.
 */
export function checkpointStoreHandlers(init: { store: CheckpointStore; links: PeerLinks; log: Logger; selfId: string }): HandlerTable {
  const { store, links, log, selfId } = init;
  /** A copy held here, or a CheckpointNotHeldError for the requester. */
  const held = (msg: { vc: string; thread: number; epoch: number; n: number }): Uint8Array => {
    const snapshot = store.get(msg.vc, msg.thread, msg);
    if (snapshot === undefined) {
      throw new CheckpointNotHeldError(`peer ${selfId} holds no checkpoint ${formatVersion(msg)} of thread ${msg.thread} of virtual computer ${msg.vc}`);
    }
    return snapshot;
  };
  return {
    'checkpoint-put': {
      peer: (msg, from) => {
        log.debug(`holding checkpoint ${formatVersion(msg)} of thread ${msg.thread} of ${msg.vc} for ${from.remoteId} (${msg.snapshot.byteLength} bytes)`);
        return store.put(msg).then(() => ({ t: 'checkpoint-put-reply' }));
      },
    },
    'checkpoint-fetch': { peer: (msg) => ({ t: 'checkpoint-fetch-reply', snapshot: held(msg) }) },
    // The owner asks this holder to pass a copy on to a new holder (the old one died).
    'checkpoint-replicate': {
      peer: async (msg, from) => {
        const snapshot = held(msg);
        const owner = store.ownerOf(msg.vc);
        if (owner !== from.remoteId) throw new ForbiddenError(`only the owner of ${msg.vc} may have its checkpoints copied`);
        const put = { t: 'checkpoint-put', vc: msg.vc, owner, thread: msg.thread, epoch: msg.epoch, n: msg.n, snapshot } as const;
        await links.request(msg.to, put, REPLICATE_PUT_TIMEOUT_MS);
        return { t: 'checkpoint-replicate-reply' };
      },
    },
    'checkpoint-drop': {
      peer: (msg, from) => {
        if (!store.dropBelow(msg.vc, msg.thread, msg.below, from.remoteId)) log.warn(`ignored a checkpoint-drop for ${msg.vc} from ${from.remoteId}, not its owner`);
      },
    },
    'checkpoint-release': {
      peer: (msg, from) => {
        if (!store.release(msg.vc, from.remoteId)) log.warn(`ignored a checkpoint-release for ${msg.vc} from ${from.remoteId}, not its owner`);
      },
    },
  };
}
