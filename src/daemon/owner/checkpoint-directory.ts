/**
 * The checkpoint directory, kept by the owner's deployer: for each thread of the virtual computer, its newest
 * acknowledged checkpoint (version, holders, size, age) and every peer that may still hold an older copy.
 *
 * ```ts
 * const dir = new CheckpointDirectory();
 * const r = dir.acknowledge(3, { epoch: 2, n: 17, seq: 940, bytes: 5120, holders: ['b'], ... });
 * for (const peer of r?.drop ?? []) links.send(peer, { t: 'checkpoint-drop', vc, thread: 3, below: { epoch: 2, n: 17 } });
 * ```
 *
 * A checkpoint counts once one holder other than the executing peer acknowledged it (the executor reports
 * it with `exec-checkpoint` after that acknowledgement, on the same link as the thread's progress, so the
 * owner never counts a checkpoint whose earlier progress it has not received). Newer versions supersede
 * older ones; a thread keeps no more than its newest in the directory.
 */
import { compareVersions, type CheckpointVersion } from '../host/checkpoint-store.ts';

/** The newest acknowledged checkpoint of one thread. */
export interface AcknowledgedCheckpoint extends CheckpointVersion {
  /** ThreadState.seq at the snapshot. */
  readonly seq: number;
  readonly bytes: number;
  /** Peers that acknowledged holding it (and are not known dead). */
  readonly holders: Set<string>;
  /** When it was acknowledged (epoch ms). */
  readonly at: number;
  readonly site: string;
  readonly encodeMs: number;
  readonly transferMs: number;
}

export type CheckpointReport = Omit<AcknowledgedCheckpoint, 'holders' | 'at'> & { holders: readonly string[] };

interface Entry {
  newest: AcknowledgedCheckpoint | undefined;
  /** Every peer that was sent (or asked to make) a copy of this thread: where drops must go. */
  readonly everHeld: Set<string>;
}

export class CheckpointDirectory {
  readonly #threads = new Map<number, Entry>();

  newest(thread: number): AcknowledgedCheckpoint | undefined {
    return this.#threads.get(thread)?.newest;
  }

  /** Peers that may hold copies of the thread's checkpoints from now on (assigned holders, replication targets). */
  noteHolders(thread: number, peers: Iterable<string>): void {
    const e = this.#entry(thread);
    for (const p of peers) e.everHeld.add(p);
  }

  /**
   * Records an acknowledged checkpoint. Returns undefined if it is older than the newest one (a late report);
   * else the peers to tell to drop versions below it (every peer that may hold an older one).
   */
  acknowledge(thread: number, r: CheckpointReport, now = Date.now()): { drop: string[] } | undefined {
    const e = this.#entry(thread);
    for (const h of r.holders) e.everHeld.add(h);
    const cur = e.newest;
    if (cur !== undefined) {
      const cmp = compareVersions(r, cur);
      if (cmp < 0) return undefined;
      if (cmp === 0) {
        for (const h of r.holders) cur.holders.add(h);
        return { drop: [] };
      }
    }
    e.newest = { ...r, holders: new Set(r.holders), at: now };
    return { drop: [...e.everHeld] };
  }

  /** A replication finished: `peer` holds `v` too (ignored if `v` is no longer the newest). */
  addHolder(thread: number, v: CheckpointVersion, peer: string): boolean {
    const cur = this.#threads.get(thread)?.newest;
    if (cur === undefined || compareVersions(cur, v) !== 0) return false;
    cur.holders.add(peer);
    this.#entry(thread).everHeld.add(peer);
    return true;
  }

  /** A peer died: it holds nothing any more. Returns the threads whose newest checkpoint it held. */
  holderLost(peer: string): number[] {
    const affected: number[] = [];
    for (const [thread, e] of this.#threads) {
      e.everHeld.delete(peer);
      if (e.newest?.holders.delete(peer) === true) affected.push(thread);
    }
    return affected;
  }

  /** The newest checkpoint could not be fetched from any holder: forget it (the thread restarts from older state). */
  invalidate(thread: number, v: CheckpointVersion): void {
    const e = this.#threads.get(thread);
    if (e?.newest !== undefined && compareVersions(e.newest, v) === 0) e.newest = undefined;
  }

  /** The thread finished: returns every peer that may hold a copy (to drop them all). */
  forget(thread: number): string[] {
    const e = this.#threads.get(thread);
    this.#threads.delete(thread);
    return e === undefined ? [] : [...e.everHeld];
  }

  /** Every peer that may hold a copy of any thread (to release them when the virtual computer ends). */
  allHolders(): Set<string> {
    const out = new Set<string>();
    for (const e of this.#threads.values()) for (const p of e.everHeld) out.add(p);
    return out;
  }

  /** How many threads' newest checkpoints `peer` holds: spreads new holders evenly. */
  holding(peer: string): number {
    let n = 0;
    for (const e of this.#threads.values()) if (e.newest?.holders.has(peer) === true) n++;
    return n;
  }

  #entry(thread: number): Entry {
    let e = this.#threads.get(thread);
    if (e === undefined) this.#threads.set(thread, (e = { newest: undefined, everHeld: new Set() }));
    return e;
  }
}
