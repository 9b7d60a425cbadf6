/**
 * The executor's side of checkpoint replication, one per running placement: sends each snapshot the thread
 * takes to the placement's holders and, once at least one acknowledged it, reports it to the owner's deployer
 * (`exec-checkpoint`), from which moment it counts. See docs/effects-and-recovery.md.
 *
 * ```ts
 * const sender = new CheckpointSender({ links, log, vc, owner, thread, epoch, holders });
 * onSnapshot: (bytes, info) => { sender.offer(bytes, info); return 'continue'; }
 * await sender.flush();   // graceful leave: the last snapshot is held elsewhere before the thread is handed back
 * ```
 *
 * Invariants:
 * - At most one transfer per placement is in flight. A snapshot taken meanwhile waits; a newer one replaces
 *   it (only the newest state matters), so a slow holder costs transfers, never the thread's progress: the
 *   thread does not wait for any of this.
 * - The report goes to the owner on the same ordered link as the thread's progress, after every progress
 *   value sent before the snapshot: the owner never counts a checkpoint whose earlier effects it missed.
 * - A snapshot that no holder acknowledged is kept and sent again when the deployer names new holders.
 */
import type { Logger } from '../../protocol/log.ts';
import type { PeerLinks } from '../peer-links.ts';
import type { SnapshotInfo } from '../../runtime/thread-context.ts';

/** How long a holder has to acknowledge a copy. */
const PUT_TIMEOUT_MS = 15_000;

export interface CheckpointSenderInit {
  links: PeerLinks;
  log: Logger;
  vc: string;
  /** The owner peer (its deployer keeps the directory). */
  owner: string;
  thread: number;
  epoch: number;
  /** The placement's task token (exec.token), echoed in exec-checkpoint. */
  token: Uint8Array;
  holders: readonly string[];
}

interface Taken {
  bytes: Uint8Array;
  info: SnapshotInfo;
}

export class CheckpointSender {
  readonly #init: CheckpointSenderInit;
  #holders: string[];
  /** The newest snapshot not yet sent. */
  #pending: Taken | undefined;
  /** The newest snapshot sent that no holder acknowledged (sent again to new holders). */
  #unacked: Taken | undefined;
  #sending = false;
  #closed = false;
  /** Snapshot number of the newest acknowledged snapshot. */
  #acked = 0;
  #idle: (() => void)[] = [];
  #warnedUnprotected = false;

  constructor(init: CheckpointSenderInit) {
    this.#init = init;
    this.#holders = [...init.holders];
  }

  get holders(): readonly string[] {
    return this.#holders;
  }

  /** Snapshot number of the newest acknowledged snapshot (0: none yet). */
  get acknowledged(): number {
    return this.#acked;
  }

  /** A snapshot the thread just took. */
  offer(bytes: Uint8Array, info: SnapshotInfo): void {
    if (this.#closed) return;
    this.#pending = { bytes, info };
    this.#pump();
  }

  /** New holders for the next checkpoints (a holder died); a snapshot nobody acknowledged goes to them. */
  setHolders(holders: readonly string[]): void {
    const { log, vc, thread } = this.#init;
    log.debug(`thread ${thread} of ${vc}: new holders ${holders.join(',') || 'none'} (sending: ${this.#sending}, waiting: ${this.#pending?.info.number ?? '-'}, unacknowledged: ${this.#unacked?.info.number ?? '-'})`);
    this.#holders = [...holders];
    this.#warnedUnprotected = false;
    if (this.#unacked !== undefined && this.#pending === undefined) this.#pending = this.#unacked;
    this.#pump();
  }

  /** Resolves once nothing is being sent; true if the newest snapshot offered was acknowledged. */
  async flush(): Promise<boolean> {
    while (this.#sending || (this.#pending !== undefined && !this.#closed && this.#holders.length > 0)) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    return this.#unacked === undefined && this.#pending === undefined;
  }

  /** Stops sending (the placement ended); a transfer in flight finishes but is not reported. */
  close(): void {
    this.#closed = true;
    this.#pending = undefined;
    this.#wake();
  }

  #pump(): void {
    if (this.#sending || this.#closed || this.#pending === undefined) return;
    if (this.#holders.length === 0) {
      if (!this.#warnedUnprotected) {
        this.#warnedUnprotected = true;
        this.#init.log.debug(`thread ${this.#init.thread} of ${this.#init.vc} has no holder: its snapshots are not replicated`);
      }
      this.#unacked = this.#pending;
      this.#pending = undefined;
      this.#wake();
      return;
    }
    const taken = this.#pending;
    this.#pending = undefined;
    this.#sending = true;
    void this.#send(taken).then((ok) => {
      this.#sending = false;
      if (ok) {
        if (this.#unacked === taken) this.#unacked = undefined;
        // An older snapshot that failed earlier is superseded by this one.
        if (this.#unacked !== undefined && this.#unacked.info.number < taken.info.number) this.#unacked = undefined;
      } else if (this.#pending === undefined) {
        this.#unacked = taken;
      }
      this.#pump();
      if (!this.#sending) this.#wake();
    });
  }

  async #send(taken: Taken): Promise<boolean> {
    const { links, log, vc, owner, thread, epoch } = this.#init;
    const holders = this.#holders;
    const { bytes, info } = taken;
    const started = performance.now();
    if (log.enabled('debug')) log.debug(`sending checkpoint ${epoch}.${info.number} of thread ${thread} of ${vc} (${info.bytes} bytes) to ${holders.join(',')}`);
    const results = await Promise.allSettled(
      holders.map((h) =>
        links.request(h, { t: 'checkpoint-put', vc, owner, thread, epoch, n: info.number, snapshot: bytes }, PUT_TIMEOUT_MS),
      ),
    );
    const transferMs = performance.now() - started;
    const acked = holders.filter((_, i) => results[i]!.status === 'fulfilled');
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') {
        log.warn(`holder ${holders[i]} did not take checkpoint ${epoch}.${info.number} of thread ${thread} of ${vc}: ${(r.reason as Error).message}`);
      }
    }
    if (acked.length === 0 || this.#closed) return acked.length > 0;
    this.#acked = Math.max(this.#acked, info.number);
    if (log.enabled('debug')) log.debug(`checkpoint ${epoch}.${info.number} of thread ${thread} of ${vc} (${info.bytes} bytes) held by ${acked.join(',')} after ${transferMs.toFixed(1)} ms`);
    links.send(owner, {
      t: 'exec-checkpoint',
      vc,
      thread,
      epoch,
      n: info.number,
      seq: info.seq,
      bytes: info.bytes,
      holders: acked,
      site: info.site.slice(0, 1024),
      encodeMs: info.encodeMs,
      transferMs,
      token: this.#init.token,
      // Messaging: once this checkpoint counts, senders may trim their outboxes up to its consumed cursor.
      ...(Object.keys(info.consumed ?? {}).length > 0 ? { consumed: info.consumed } : {}),
    });
    return true;
  }

  #wake(): void {
    const waiting = this.#idle;
    this.#idle = [];
    for (const w of waiting) w();
  }
}
