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
 * - Authorization (docs/authorization.md): the owner announces each placement to the holders it chose
 *   (`checkpoint-grant`: `host` may send copies of the thread up to placement `epoch`, and fetch them). A
 *   `checkpoint-put` is taken only from a granted sender, for the granting owner; a `checkpoint-fetch` only from
 *   the owner or a granted host. Both wait a short while for a grant that is still on its way
 *   ({@link CheckpointStoreOptions.grantWaitMs}). The first grant for a virtual computer makes its sender the owner.
 * - Each owner may hold at most {@link CheckpointStoreOptions.maxBytesPerOwner} here, so that one swarm member
 *   cannot fill the store and leave other owners' threads unprotected.
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
  /** Most snapshot bytes held for one owner. @default maxBytes */
  maxBytesPerOwner?: number;
  /** How long a put or fetch waits for the owner's `checkpoint-grant` (it may travel on another link). @default 5000 */
  grantWaitMs?: number;
}

/** A virtual computer's grants: its owner (the grants' sender) and, per thread, who may send copies up to which epoch. */
interface VcGrants {
  readonly owner: string;
  readonly threads: Map<number, Map<string, number>>;
}

/** Senders remembered per thread (a few placements and replicating holders). */
const MAX_GRANTED_PER_THREAD = 16;
/** Puts and fetches waiting for a grant at once; more are refused at once. */
const MAX_GRANT_WAITERS = 1024;

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
  readonly maxBytesPerOwner: number;
  readonly #storeDelayMs: number;
  readonly #grantWaitMs: number;
  readonly #ownerAlive: (owner: string) => boolean;
  readonly #vcs = new Map<string, VcCopies>();
  readonly #grants = new Map<string, VcGrants>();
  readonly #waiters = new Set<() => void>();
  /** Bytes held per owner. */
  readonly #ownerBytes = new Map<string, number>();
  /** Virtual computers released or whose owner died, newest last: late copies for them are not kept. */
  readonly #ended = new Set<string>();
  #bytes = 0;
  #receiving = 0;

  constructor(opts: CheckpointStoreOptions = {}) {
    const max = opts.maxBytes ?? 1024 ** 3;
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`options.maxBytes must be a non-negative integer, got ${max}`);
    this.maxBytes = max;
    const perOwner = opts.maxBytesPerOwner ?? max;
    if (!Number.isInteger(perOwner) || perOwner < 0) throw new RangeError(`options.maxBytesPerOwner must be a non-negative integer, got ${perOwner}`);
    this.maxBytesPerOwner = perOwner;
    this.#grantWaitMs = opts.grantWaitMs ?? 5000;
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

  /**
   * The owner `from` announces that `host` may send copies of `thread` of `vc` up to placement `epoch` and fetch
   * them. False (ignored) if another peer owns `vc` here or it has ended.
   */
  grant(vc: string, thread: number, epoch: number, host: string, from: string): boolean {
    if (this.#ended.has(vc)) return false;
    const copies = this.#vcs.get(vc);
    if (copies !== undefined && copies.owner !== from) return false;
    let g = this.#grants.get(vc);
    if (g !== undefined && g.owner !== from) return false;
    if (g === undefined) this.#grants.set(vc, (g = { owner: from, threads: new Map() }));
    let hosts = g.threads.get(thread);
    if (hosts === undefined) g.threads.set(thread, (hosts = new Map()));
    const had = hosts.get(host);
    hosts.delete(host);
    hosts.set(host, Math.max(epoch, had ?? 0));
    while (hosts.size > MAX_GRANTED_PER_THREAD) hosts.delete(hosts.keys().next().value!);
    for (const w of [...this.#waiters]) w();
    return true;
  }

  /** The owner of `vc` as its grants (or copies) name it. */
  grantedOwner(vc: string): string | undefined {
    return this.#grants.get(vc)?.owner ?? this.#vcs.get(vc)?.owner;
  }

  /**
   * Whether `from` may put this copy (`put`) or fetch copies of the thread (`fetch`): it was granted by the owner
   * (waiting up to grantWaitMs for the grant). Throws a ForbiddenError otherwise.
   */
  async authorize(kind: 'put' | 'fetch', msg: { vc: string; thread: number; epoch: number; owner?: string }, from: string): Promise<void> {
    const ok = (): boolean => {
      const g = this.#grants.get(msg.vc);
      if (g === undefined) return false;
      if (kind === 'fetch' && from === g.owner) return true;
      const upTo = g.threads.get(msg.thread)?.get(from);
      if (upTo === undefined) return false;
      return kind === 'fetch' || (msg.owner === g.owner && msg.epoch <= upTo);
    };
    if (await this.#until(ok)) return;
    const owner = this.grantedOwner(msg.vc);
    throw new ForbiddenError(
      `peer ${from} may not ${kind} checkpoints of thread ${msg.thread} of virtual computer ${msg.vc}` +
        (owner === undefined ? ': its owner announced no placement here' : `: its owner ${owner} did not grant it${kind === 'put' && msg.owner !== owner ? ` (the copy names owner ${msg.owner})` : ''}`),
    );
  }

  async #until(ok: () => boolean): Promise<boolean> {
    if (ok()) return true;
    if (this.#grantWaitMs <= 0 || this.#waiters.size >= MAX_GRANT_WAITERS) return false;
    return new Promise<boolean>((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(result);
      };
      const check = (): void => {
        if (ok()) done(true);
      };
      const timer = setTimeout(() => done(false), this.#grantWaitMs);
      this.#waiters.add(check);
    });
  }

  /** Bytes held for `owner`. */
  ownerBytes(owner: string): number {
    return this.#ownerBytes.get(owner) ?? 0;
  }

  #account(owner: string, delta: number): void {
    this.#bytes += delta;
    const b = (this.#ownerBytes.get(owner) ?? 0) + delta;
    if (b <= 0) this.#ownerBytes.delete(owner);
    else this.#ownerBytes.set(owner, b);
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
    if (!this.#ownerAlive(p.owner)) throw new CheckpointOwnerGoneError(`owner ${p.owner} of virtual computer ${p.vc} is not a live member of the swarm (declared dead, or never joined)`);
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
    const ownerBytes = this.ownerBytes(p.owner);
    if (ownerBytes + p.snapshot.byteLength > this.maxBytesPerOwner) {
      throw new CheckpointStoreFullError(
        `cannot hold ${p.snapshot.byteLength} more bytes for owner ${p.owner}: it has ${ownerBytes} of its ${this.maxBytesPerOwner} here`,
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
    this.#account(p.owner, bytes.byteLength);
    while (copies.length > MAX_VERSIONS_PER_THREAD) this.#account(p.owner, -copies.shift()!.snapshot.byteLength);
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
    const owner = this.grantedOwner(vcId);
    if (owner !== undefined && owner !== from) return false;
    if (below === undefined) this.#grants.get(vcId)?.threads.delete(thread);
    const vc = this.#vcs.get(vcId);
    if (vc === undefined) return true;
    const copies = vc.threads.get(thread) ?? [];
    const keep = below === undefined ? [] : copies.filter((c) => compareVersions(c, below) >= 0);
    for (const c of copies) if (!keep.includes(c)) this.#account(vc.owner, -c.snapshot.byteLength);
    if (keep.length > 0) vc.threads.set(thread, keep);
    else vc.threads.delete(thread);
    if (below === undefined) vc.finished.add(thread);
    return true;
  }

  /** Drops everything held for a virtual computer (it ended). Only its owner may; returns false if `from` is not it. */
  release(vcId: string, from: string): boolean {
    const owner = this.grantedOwner(vcId);
    if (owner !== undefined && owner !== from) return false;
    this.#grants.delete(vcId);
    const vc = this.#vcs.get(vcId);
    if (vc === undefined) return true;
    this.#forget(vcId, vc);
    return true;
  }

  /** Drops everything held for the virtual computers of `owner` (declared dead): they ended with it. Returns how many copies went. */
  ownerGone(owner: string): number {
    let dropped = 0;
    for (const [id, g] of [...this.#grants]) if (g.owner === owner) this.#grants.delete(id);
    for (const [id, vc] of [...this.#vcs]) {
      if (vc.owner !== owner) continue;
      for (const copies of vc.threads.values()) dropped += copies.length;
      this.#forget(id, vc);
    }
    return dropped;
  }

  clear(): void {
    this.#vcs.clear();
    this.#grants.clear();
    this.#ownerBytes.clear();
    this.#bytes = 0;
  }

  #forget(id: string, vc: VcCopies): void {
    for (const copies of vc.threads.values()) for (const c of copies) this.#account(vc.owner, -c.snapshot.byteLength);
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
    // Copies only from a sender the owner granted for that placement (it announced it with checkpoint-grant).
    'checkpoint-put': {
      peer: async (msg, from) => {
        try {
          await store.authorize('put', msg, from.remoteId);
        } catch (err) {
          log.warn(`refused checkpoint ${formatVersion(msg)} of thread ${msg.thread} of ${msg.vc} from ${from.remoteId}: ${(err as Error).message}`);
          throw err;
        }
        log.debug(`holding checkpoint ${formatVersion(msg)} of thread ${msg.thread} of ${msg.vc} for ${from.remoteId} (${msg.snapshot.byteLength} bytes)`);
        await store.put(msg);
        return { t: 'checkpoint-put-reply' };
      },
    },
    'checkpoint-grant': {
      peer: (msg, from) => {
        if (!store.grant(msg.vc, msg.thread, msg.epoch, msg.host, from.remoteId)) {
          const owner = store.grantedOwner(msg.vc);
          if (owner !== undefined) log.warn(`ignored a checkpoint-grant for ${msg.vc} from ${from.remoteId}: it belongs to ${owner}`);
          else log.debug(`ignored a checkpoint-grant for ${msg.vc} from ${from.remoteId}: it has ended`);
        }
      },
    },
    // Only the owner, or the host it placed the thread on (granted), may read a copy.
    'checkpoint-fetch': {
      peer: async (msg, from) => {
        try {
          await store.authorize('fetch', msg, from.remoteId);
        } catch (err) {
          log.warn(`refused a fetch of checkpoint ${formatVersion(msg)} of thread ${msg.thread} of ${msg.vc} by ${from.remoteId}: ${(err as Error).message}`);
          throw err;
        }
        return { t: 'checkpoint-fetch-reply', snapshot: held(msg) };
      },
    },
    // The owner asks this holder to pass a copy on to a new holder (the old one died).
    'checkpoint-replicate': {
      peer: async (msg, from) => {
        const owner = store.grantedOwner(msg.vc);
        if (owner !== from.remoteId) throw new ForbiddenError(`only the owner of ${msg.vc} may have its checkpoints copied`);
        const snapshot = held(msg);
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
