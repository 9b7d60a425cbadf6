/**
 * The mailbox (paper's name): the buffered messages of one thread placement at its host, with each sender's window
 * and the verdict on every offered message (accepted, duplicate, held, refused, dropped). The message manager
 * (message-manager.ts) owns one per placement and answers senders from the verdicts.
 */
import type { Delivered } from '../../runtime/worker-messages.ts';
import { ThreadEffectCode, ThreadEffectError } from '../../runtime/errors.ts';

/** One message offered to a mailbox, with what is needed to answer its sender. */
export interface Offer {
  from: number;
  seq: number;
  prev: number;
  bytes: Uint8Array;
  origin: string;
  round: number;
}

/** What a mailbox did with an offer. */
export type Verdict =
  | { kind: 'accepted' }
  | { kind: 'duplicate' }
  /** Not ready yet (the thread has not reported its cursor): answered once it is. */
  | { kind: 'held' }
  | { kind: 'refused'; reason: 'full' | 'gap'; expect: number }
  /** Refused like an earlier message of the same sender round, which was answered already: no answer. */
  | { kind: 'dropped' };

/** What a mailbox tells its manager. */
export interface MailboxEvents {
  /** A sender refused for lack of room may send again. */
  credit(from: number, origin: string): void;
  /** Messages of `from` were handed to the thread: its sender's window opens. */
  consumed(from: number, origin: string): void;
}

interface Waiter {
  from: number | undefined;
  max: number;
  resolve(batch: Delivered[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface SenderState {
  /** Seq of the last message of the chain accepted here (the mailbox's side of the cursor). */
  accepted: number;
  /** Seq of the last message handed to the thread. */
  consumed: number;
  /** The sender's host, where acks go. */
  origin: string;
  /** The sender round last refused: one refusal per round is enough (the sender goes back on it). */
  refusedRound: number;
  /** Messages handed to the thread since the sender's host was last sent an ack. */
  unacked: number;
}

/**
 * The buffered messages of one thread placement, at its host: at most `capacity` messages. A sender may have
 * `capacity` messages not yet handed to the thread (its window), so one sender never fills the mailbox; several
 * may, and then the mailbox refuses ('full') and grants credits as the thread receives.
 */
export class Mailbox {
  readonly vc: string;
  readonly thread: number;
  readonly epoch: number;
  readonly capacity: number;
  #ready = false;
  #closed = false;
  readonly #senders = new Map<number, SenderState>();
  readonly #queue: Delivered[] = [];
  readonly #held: Offer[] = [];
  readonly #waiters: Waiter[] = [];
  /** Senders refused for lack of room, in order: each gets a credit when room frees. */
  readonly #refused = new Set<number>();
  readonly #events: MailboxEvents;

  constructor(vc: string, thread: number, epoch: number, capacity: number, events: MailboxEvents) {
    this.vc = vc;
    this.thread = thread;
    this.epoch = epoch;
    this.capacity = Math.max(1, capacity);
    this.#events = events;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Messages waiting in the mailbox. */
  get size(): number {
    return this.#queue.length;
  }

  /** The last seq accepted from `from` (-1: none). */
  accepted(from: number): number {
    return this.#senders.get(from)?.accepted ?? -1;
  }

  /** The last seq from `from` handed to the thread (-1: none). */
  consumed(from: number): number {
    return this.#senders.get(from)?.consumed ?? -1;
  }

  /**
   * Whether `from`'s host should hear of consumption now rather than after a delay: a quarter of the mailbox
   * was handed to the thread since its last ack, so its window may be running out.
   */
  ackDue(from: number): boolean {
    return (this.#senders.get(from)?.unacked ?? 0) >= Math.max(1, this.capacity >> 2);
  }

  /** An ack with this mailbox's state for `from` went out. */
  acked(from: number): void {
    const s = this.#senders.get(from);
    if (s !== undefined) s.unacked = 0;
  }

  /**
   * Opens the mailbox at the thread's consumed cursor: everything at or below it was received before the
   * snapshot the thread started from. Returns the verdicts on the offers held until now, to answer them.
   */
  start(consumed: Record<number, number>): [Offer, Verdict][] {
    if (this.#ready) return [];
    for (const [k, v] of Object.entries(consumed)) {
      const s = this.#sender(Number(k), '');
      s.accepted = s.consumed = v;
    }
    this.#ready = true;
    return this.#held.splice(0).map((o) => [o, this.offer(o)]);
  }

  offer(o: Offer): Verdict {
    if (this.#closed) return { kind: 'duplicate' };
    const s = this.#sender(o.from, o.origin);
    if (!this.#ready) {
      if (this.#held.length >= this.capacity) return this.#refuse(o, 'full', -1);
      this.#held.push(o);
      return { kind: 'held' };
    }
    if (o.seq <= s.accepted) return { kind: 'duplicate' };
    // `prev < accepted` cannot come from a deterministic sender; take it rather than stall the pair forever.
    if (o.prev > s.accepted) return this.#refuse(o, 'gap', s.accepted);
    // Waiting receives are served by wake(), after the whole frame is in: one answer carries a batch.
    if (this.#queue.length >= this.capacity && this.#waiters.length > 0) this.wake();
    if (this.#queue.length >= this.capacity) return this.#refuse(o, 'full', s.accepted);
    s.accepted = o.seq;
    this.#queue.push({ from: o.from, seq: o.seq, bytes: o.bytes });
    return { kind: 'accepted' };
  }

  /** Hands waiting messages to waiting receives (called after offers). */
  wake(): void {
    for (let i = 0; i < this.#waiters.length && this.#queue.length > 0; ) {
      const w = this.#waiters[i]!;
      const batch = this.#take(w.from, w.max);
      if (batch.length === 0) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(batch);
    }
  }

  /**
   * Up to `max` waiting messages (from `from` only, if given), oldest first; waits for one when there are none,
   * and rejects with code ERR_RECEIVE_TIMEOUT after `timeoutMs`.
   */
  receive(from: number | undefined, timeoutMs: number | undefined, max: number): Promise<Delivered[]> {
    if (this.#closed) return Promise.reject(new ThreadEffectError('ERR_MAILBOX_CLOSED', `the mailbox of thread ${this.thread} is closed`));
    const batch = this.#take(from, max);
    if (batch.length > 0) return Promise.resolve(batch);
    return new Promise<Delivered[]>((resolve, reject) => {
      const waiter: Waiter = { from, max, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i !== -1) this.#waiters.splice(i, 1);
          reject(new ThreadEffectError(ThreadEffectCode.RECEIVE_TIMEOUT, `no message within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** The thread left: waiting receives reject, buffered messages are dropped (their senders re-send them from their outboxes if it resumes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new ThreadEffectError('ERR_MAILBOX_CLOSED', `thread ${this.thread} left this peer`));
    }
    this.#queue.length = 0;
    this.#held.length = 0;
    this.#refused.clear();
  }

  /** Takes up to `max` messages (from `from` only, if given), oldest first, as handed to the thread. */
  #take(from: number | undefined, max: number): Delivered[] {
    const batch: Delivered[] = [];
    if (from === undefined) {
      batch.push(...this.#queue.splice(0, max));
    } else {
      // One pass that keeps the others in place (a splice per message would move the rest of the queue each time).
      const q = this.#queue;
      let kept = 0;
      for (let i = 0; i < q.length; i++) {
        const m = q[i]!;
        if (batch.length < max && m.from === from) batch.push(m);
        else q[kept++] = m;
      }
      q.length = kept;
    }
    if (batch.length === 0) return batch;
    const senders = new Set<number>();
    for (const m of batch) {
      const s = this.#senders.get(m.from)!;
      if (m.seq > s.consumed) s.consumed = m.seq;
      s.unacked++;
      senders.add(m.from);
    }
    for (const f of senders) this.#events.consumed(f, this.#senders.get(f)!.origin);
    this.#grantCredits();
    return batch;
  }

  #sender(from: number, origin: string): SenderState {
    let s = this.#senders.get(from);
    if (s === undefined) this.#senders.set(from, (s = { accepted: -1, consumed: -1, origin, refusedRound: -1, unacked: 0 }));
    if (origin !== '') s.origin = origin;
    return s;
  }

  #refuse(o: Offer, reason: 'full' | 'gap', expect: number): Verdict {
    if (reason === 'full') this.#refused.add(o.from);
    const s = this.#sender(o.from, o.origin);
    if (s.refusedRound === o.round) return { kind: 'dropped' };
    s.refusedRound = o.round;
    return { kind: 'refused', reason, expect };
  }

  #grantCredits(): void {
    let room = this.capacity - this.#queue.length;
    for (const from of this.#refused) {
      if (room-- <= 0) break;
      this.#refused.delete(from);
      const origin = this.#senders.get(from)?.origin;
      if (origin !== undefined && origin !== '') this.#events.credit(from, origin);
    }
  }
}
