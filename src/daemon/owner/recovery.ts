/**
 * Recovery, at the owner's deployer: where each placement's checkpoints go, where a thread resumes after its
 * host died or left, and how checkpoints are replicated again when a holder dies. The deployer calls it; it
 * sends the checkpoint messages of protocol/virtual-computer-messages.ts. See docs/effects-and-recovery.md.
 *
 * ```ts
 * const recovery = new Recovery(ctx);
 * exec.holders = recovery.chooseHolders(t, worker.id);   // at each placement
 * exec.resume = recovery.resumeFrom(t);                  // undefined: restart from the spawn arguments
 * recovery.protect(t);                                   // the resumed version gets holders besides its host
 * recovery.peerDead(id);                                 // membership 'peer-dead': replicate what it held
 * ```
 *
 * Choices:
 * - Holders of a placement: `replicas` live peers other than its host, preferring the virtual computer's
 *   enrolled workers (a holder with a free slot resumes the thread without any transfer), then other peers,
 *   then the owner's own controller; within each group the peer holding the fewest of this virtual computer's
 *   checkpoints. With no candidate at all the thread runs unprotected (and `ppp2p status` says so) until a
 *   peer joins.
 * - A lost holder is replaced at once. The newest checkpoint is copied from a surviving holder when there is
 *   one; otherwise the host is asked to snapshot at its next checkpoint opportunity.
 * - A thread resumes from its newest acknowledged checkpoint if a live holder has it; else from its spawn
 *   arguments (its effects are then replayed with the same sequence numbers and de-duplicated).
 */
import type { Logger } from '../../protocol/log.ts';
import type { ParticipationManager } from '../swarm/participation-manager.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { ThreadRecord } from './virtual-thread-delegator.ts';
import type { PeerLinks } from '../peer-links.ts';
import { CheckpointDirectory } from './checkpoint-directory.ts';
import { formatVersion, type CheckpointVersion } from '../host/checkpoint-store.ts';

type CheckpointStatus = NonNullable<MessageOf<'vc-status-reply'>['vcs'][number]['threads'][number]['checkpoint']>;
export type Protection = 'protected' | 'unprotected' | 'none';


/** How long a holder has to copy a checkpoint to a new holder. */
const REPLICATE_TIMEOUT_MS = 30_000;

export interface RecoveryContext {
  readonly vc: string;
  /** Holders of each checkpoint besides the executing peer. */
  readonly replicas: number;
  readonly links: PeerLinks;
  readonly membership: ParticipationManager;
  readonly log: Logger;
  /** Ids of the enrolled workers. */
  workers(): Iterable<string>;
  /** The unfinished threads. */
  threads(): Iterable<ThreadRecord>;
}

export class Recovery {
  readonly directory = new CheckpointDirectory();
  readonly #ctx: RecoveryContext;
  /** Replications in flight, `thread:target`: a second request for the same copy is not sent. */
  readonly #replicating = new Set<string>();
  /** Grants sent again shortly (see #grant). */

  constructor(ctx: RecoveryContext) {
    this.#ctx = ctx;
  }

  /** Holders for a placement of `t` on `host`: `keep` first (if still fit), then the best other candidates. */
  chooseHolders(t: ThreadRecord, host: string, keep: readonly string[] = []): string[] {
    const want = this.#ctx.replicas;
    const chosen = keep.filter((p) => p !== host && this.#alive(p)).slice(0, want);
    if (chosen.length >= want) return chosen;
    const self = this.#ctx.links.selfId;
    const enrolled = new Set(this.#ctx.workers());
    const rank = (id: string): number => (enrolled.has(id) ? 0 : id === self ? 2 : 1);
    const candidates = this.#ctx.membership
      .peers({ includeSelf: true })
      .filter((p) => p.state === 'alive' && p.id !== host && !chosen.includes(p.id))
      .map((p) => ({ id: p.id, rank: rank(p.id), load: this.directory.holding(p.id) }))
      .sort((a, b) => a.rank - b.rank || a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const c of candidates) {
      if (chosen.length >= want) break;
      chosen.push(c.id);
    }
    if (chosen.length === 0) {
      this.#ctx.log.warn(`thread ${t.thread} of ${this.#ctx.vc} runs unprotected on ${host}: no other peer can hold its checkpoints`);
    }
    return chosen;
  }

  /**
   * Announces `t`'s new placement on `host` to its holders and to the holders of the checkpoint it resumes from
   * (`checkpoint-grant`): they take copies from that host and let it fetch. Holders refuse anything not announced.
   */
  grant(t: ThreadRecord, host: string, resumeHolders: readonly string[] = []): void {
    for (const peer of new Set([...(t.holders ?? []), ...resumeHolders])) this.#grant(peer, t.thread, t.placements, host);
  }

  #grant(holder: string, thread: number, epoch: number, host: string): void {
    const msg = { t: 'checkpoint-grant', vc: this.#ctx.vc, thread, epoch, host } as const;
    // One message: a peer that just joined keeps it until its checkpoint store registered (PeerController's early
    // messages), so nothing needs sending again.
    this.#ctx.links.send(holder, msg);
  }

  /** What `exec` carries to resume `t`, or undefined to restart it from its spawn arguments. */
  resumeFrom(t: ThreadRecord): { epoch: number; n: number; holders: string[] } | undefined {
    const ck = this.directory.newest(t.thread);
    if (ck === undefined) return undefined;
    const live = [...ck.holders].filter((p) => this.#alive(p));
    if (live.length === 0) {
      this.#ctx.log.warn(
        `checkpoint ${formatVersion(ck)} of thread ${t.thread} of ${this.#ctx.vc} was lost with its holders; the thread restarts from its arguments`,
      );
      this.directory.invalidate(t.thread, ck);
      return undefined;
    }
    return { epoch: ck.epoch, n: ck.n, holders: live };
  }

  /** Workers that hold `t`'s newest checkpoint: placing it there needs no transfer. */
  preferredHosts(t: ThreadRecord): Set<string> | undefined {
    const ck = this.directory.newest(t.thread);
    if (ck === undefined) return undefined;
    const live = [...ck.holders].filter((p) => this.#alive(p));
    return live.length > 0 ? new Set(live) : undefined;
  }

  /**
   * Makes the newest checkpoint of a running thread held by its placement's holders (besides its host): copies
   * it from a live holder to the holders missing it, or asks the host for a new snapshot if no copy survives.
   */
  protect(t: ThreadRecord): void {
    const host = t.host;
    const targets = t.holders ?? [];
    if (t.state !== 'running' || host === undefined || targets.length === 0) return;
    const ck = this.directory.newest(t.thread);
    if (ck === undefined) return; // its first checkpoint goes to the holders anyway
    const missing = targets.filter((p) => !ck.holders.has(p));
    if (missing.length === 0) return;
    const sources = [...ck.holders].filter((p) => this.#alive(p));
    const source = sources.find((p) => p !== host) ?? sources[0];
    if (source === undefined) {
      this.#ctx.links.send(host, { t: 'exec-holders', vc: this.#ctx.vc, thread: t.thread, epoch: t.placements, holders: targets, snapshot: true, token: t.token ?? new Uint8Array(16) });
      return;
    }
    for (const to of missing) this.#replicate(t.thread, ck, source, to);
  }

  /** An executor reported an acknowledged checkpoint of the thread's current placement. */
  onCheckpoint(t: ThreadRecord, msg: MessageOf<'exec-checkpoint'>): void {
    const r = this.directory.acknowledge(t.thread, {
      epoch: msg.epoch,
      n: msg.n,
      seq: msg.seq,
      bytes: msg.bytes,
      holders: msg.holders,
      site: msg.site,
      encodeMs: msg.encodeMs,
      transferMs: msg.transferMs,
    });
    if (r === undefined) return;
    const below = { epoch: msg.epoch, n: msg.n };
    for (const peer of r.drop) this.#ctx.links.send(peer, { t: 'checkpoint-drop', vc: this.#ctx.vc, thread: t.thread, below });
    // Copies made after a holder was replaced may still be missing from some holders.
    this.protect(t);
  }

  /**
   * A peer was declared dead. What it held is gone: each running thread that had it as a holder gets a new one,
   * which receives a copy of the newest checkpoint (or the host snapshots again). Threads whose host it was are
   * the deployer's to resume.
   */
  peerDead(id: string): void {
    const lostNewest = new Set(this.directory.holderLost(id));
    if (this.#ctx.log.enabled('debug')) {
      const seen = [...this.#ctx.threads()].map((t) => `${t.thread}:${t.state}@${t.host ?? '-'} holders=${(t.holders ?? []).join('+')} newest=${[...(this.directory.newest(t.thread)?.holders ?? [])].join('+')}`);
      this.#ctx.log.debug(`peer ${id} dead: ${this.#ctx.vc} loses the newest checkpoint of ${lostNewest.size} thread(s); threads ${seen.join(' ')}`);
    }
    for (const t of this.#ctx.threads()) {
      if (t.state !== 'running' || t.host === undefined || t.host === id) continue;
      const had = t.holders?.includes(id) === true;
      if (!had && !lostNewest.has(t.thread)) continue;
      const holders = this.chooseHolders(t, t.host, (t.holders ?? []).filter((p) => p !== id));
      if (!this.#assign(t, holders)) this.protect(t);
    }
  }

  /** A peer joined: threads that run unprotected get holders (their next snapshot is taken at once). */
  peerAlive(id: string): void {
    for (const t of this.#ctx.threads()) {
      if (t.state !== 'running' || t.host === undefined || t.host === id || (t.holders?.length ?? 0) >= this.#ctx.replicas) continue;
      const holders = this.chooseHolders(t, t.host, t.holders ?? []);
      if (holders.length === (t.holders?.length ?? 0)) continue;
      if (!this.#assign(t, holders)) this.protect(t);
    }
  }

  /** The thread finished: every copy of it goes. */
  finished(thread: number): void {
    for (const peer of this.directory.forget(thread)) this.#ctx.links.send(peer, { t: 'checkpoint-drop', vc: this.#ctx.vc, thread });
  }

  /** The virtual computer ended: every holder drops what it held for it. */
  release(): void {
    for (const peer of this.directory.allHolders()) {
      if (this.#alive(peer)) this.#ctx.links.send(peer, { t: 'checkpoint-release', vc: this.#ctx.vc });
    }
  }

  /** `ppp2p status`: the newest checkpoint of a thread. */
  checkpointStatus(thread: number, now = Date.now()): CheckpointStatus | undefined {
    const ck = this.directory.newest(thread);
    if (ck === undefined) return undefined;
    return {
      epoch: ck.epoch,
      n: ck.n,
      seq: ck.seq,
      bytes: ck.bytes,
      holders: [...ck.holders],
      ageMs: Math.max(0, now - ck.at),
      transferMs: ck.transferMs,
      encodeMs: ck.encodeMs,
    };
  }

  /** Whether a running thread's state survives the death of its host. */
  protection(t: ThreadRecord): Protection | undefined {
    if (t.state !== 'running') return undefined;
    if ((t.holders?.length ?? 0) === 0) return 'unprotected';
    const ck = this.directory.newest(t.thread);
    return ck !== undefined && [...ck.holders].some((p) => p !== t.host) ? 'protected' : 'none';
  }

  /** Gives a running placement new holders for its next checkpoints; true if it asked the host for a snapshot. */
  #assign(t: ThreadRecord, holders: string[]): boolean {
    const ck = this.directory.newest(t.thread);
    const copySurvives = ck !== undefined && [...ck.holders].some((p) => this.#alive(p));
    // No surviving copy: the state since the thread's last checkpoint exists only on its host.
    const snapshot = ck !== undefined && !copySurvives;
    this.#ctx.log.info(
      `thread ${t.thread} of ${this.#ctx.vc} on ${t.host}: checkpoint holders ${(t.holders ?? []).join(',') || 'none'} -> ${holders.join(',') || 'none'}` +
        (snapshot ? ' (no copy survived: the host snapshots again)' : ''),
    );
    t.holders = holders;
    this.directory.noteHolders(t.thread, holders);
    for (const h of holders) this.#grant(h, t.thread, t.placements, t.host!);
    this.#ctx.links.send(t.host!, { t: 'exec-holders', vc: this.#ctx.vc, thread: t.thread, epoch: t.placements, holders, snapshot, token: t.token ?? new Uint8Array(16) });
    return snapshot;
  }

  #replicate(thread: number, v: CheckpointVersion, source: string, to: string): void {
    const key = `${thread}:${to}`;
    if (this.#replicating.has(key)) return;
    this.#replicating.add(key);
    this.directory.noteHolders(thread, [to]);
    const { vc, links, log } = this.#ctx;
    // The new holder takes this copy from the source holder only: announce it first.
    this.#grant(to, thread, v.epoch, source);
    links
      .request(source, { t: 'checkpoint-replicate', vc, thread, epoch: v.epoch, n: v.n, to }, REPLICATE_TIMEOUT_MS)
      .then(
        () => {
          if (this.directory.addHolder(thread, v, to)) log.debug(`checkpoint ${formatVersion(v)} of thread ${thread} of ${vc} copied from ${source} to ${to}`);
        },
        (err: unknown) => {
          log.warn(`could not copy checkpoint ${formatVersion(v)} of thread ${thread} of ${vc} from ${source} to ${to}: ${(err as Error).message}`);
        },
      )
      .catch((err: unknown) => log.warn(`checkpoint replication of thread ${thread}: ${(err as Error).message}`))
      .finally(() => this.#replicating.delete(key));
  }

  /** Not known dead: a suspect may still answer (and a fetch from it falls back to another holder). */
  #alive(peer: string): boolean {
    const state = this.#ctx.membership.peer(peer)?.state;
    return state === 'alive' || state === 'suspect';
  }
}
