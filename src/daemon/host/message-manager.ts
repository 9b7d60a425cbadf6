/**
 * The message manager (paper's name): the mailboxes of the threads this peer runs, and the wiring of message
 * passing and globals between a peer's executors, its peer unit proxy, its address resolver and the owners'
 * deployers. Message passing in one picture (docs/effects-and-recovery.md has the failure cases):
 *
 * ```text
 *  sender thread ──send──▶ sender's host: PeerUnitProxy ──msg-deliver──▶ receiver's host: Mailbox ──▶ receiver thread
 *     (outbox, seq, prev)        (resolves the receiver's host,                (FIFO per sender by the prev chain,
 *                                 re-sends until acked)  ◀──msg-ack/nack──     bounded, dedup by seq)
 * ```
 *
 * A mailbox accepts a message only if it is the next of its pair's chain (`prev` = the last seq it holds from
 * that sender) and there is room; otherwise it answers `msg-nack` ('gap' or 'full', then `msg-credit` once room
 * frees), and the sender goes back to the first message not acknowledged. So nothing is lost, duplicated or
 * reordered, whatever the network or a failure did to the messages in flight, and a sender to a full mailbox
 * waits. A mailbox starts when its thread's executor reports the thread's consumed cursor (from its snapshot,
 * or empty): messages arriving before are held unanswered.
 *
 * Globals go to the owner's deployer (global-variable-manager.ts), one request per operation.
 */
import type { Connection } from '../../protocol/connection.ts';
import type { Logger } from '../../protocol/log.ts';
import type { MessageOf, ReplyInput } from '../../protocol/messages.ts';
import type { ThreadRecord } from '../owner/virtual-thread-delegator.ts';
import type { PeerLinks, Sender } from './worker.ts';
import type { SlotEvents } from './frame-runner.ts';
import type { Delivered, HostNotice, ThreadCall } from '../../runtime/worker-messages.ts';
import { DEFAULT_MAILBOX_SIZE } from '../../runtime/thread-messaging.ts';
import { ThreadEffectError } from '../../runtime/errors.ts';
import { AddressResolver, PlacementPublisher, type Placement } from './address-resolver.ts';
import { PeerUnitProxy } from './peer-unit-proxy.ts';
import { forEachMsg, msgBatchCount, msgBatchFirstSeq } from '../../protocol/msg-batch.ts';
import { GlobalVariableManager, DEFAULT_LOCK_LEASE_MS, type GlobalsReply } from '../owner/global-variable-manager.ts';

export { DEFAULT_MAILBOX_SIZE, DEFAULT_LOCK_LEASE_MS };

/** Longest an ack waits to cover more messages (senders retransmit after 2 s without one). */
const ACK_DELAY_MS = 20;

/** When a message needs an ack: not at all, at the end of this turn, or within ACK_DELAY_MS. */
type Ack = 'none' | 'now' | 'later';

/** A globals request waits for a lock as long as it takes; only its connection closing ends it. */
const GLOBALS_TIMEOUT_MS = 2 ** 31 - 1;

// ─── mailboxes ────────────────────────────────────────────────────────────────────────────────────

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
          reject(Object.assign(new Error(`no message within ${timeoutMs} ms`), { code: 'ERR_RECEIVE_TIMEOUT' }));
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

// ─── a thread running on this peer ───────────────────────────────────────────────────────────────

/** A placement of a thread on this peer, as message passing sees it. */
export interface LocalThread {
  readonly vc: string;
  readonly owner: string;
  readonly thread: number;
  readonly epoch: number;
  readonly mailboxSize: number;
  /** Tells the thread's executor something (acks, outbox trims and re-sends); nothing once it has ended. */
  notify(n: HostNotice): void;
  /**
   * The placement is over here: `finished` (result or error: its outbox was handed to the owner) or `stopped`
   * (cancelled, fenced, handed back: a later placement re-sends what it must).
   */
  end(how: 'finished' | 'stopped'): void;
  /** The executor events that carry the thread's calls and notices. */
  readonly events: Pick<SlotEvents, 'onCall' | 'onNotice'>;
}

/** What the message manager needs from the owner's deployer of a virtual computer (when this peer is the owner). */
export interface OwnerSide {
  readonly client: Connection;
  readonly messaging: DeployerMessaging;
}

export interface MessageManagerInit {
  links: PeerLinks;
  log: Logger;
}

/** Message types the message manager handles, from peers. */
export const MESSAGING_PEER_TYPES = [
  'msg-deliver',
  'msg-ack',
  'msg-nack',
  'msg-credit',
  'msg-residual',
  'msg-trim',
  'thread-placed',
  'thread-locate',
  'globals-op',
] as const;
/** Message types the message manager handles, from an application. */
export const MESSAGING_CLIENT_TYPES = ['globals-get', 'globals-set', 'globals-watch'] as const;
type MessagingType = (typeof MESSAGING_PEER_TYPES)[number] | (typeof MESSAGING_CLIENT_TYPES)[number];

/** One per peer: mailboxes, resolver and proxy, and the routing of every messaging message type. */
export class MessageManager {
  readonly resolver: AddressResolver;
  readonly proxy: PeerUnitProxy;
  readonly #links: PeerLinks;
  readonly #log: Logger;
  readonly #boxes = new Map<string, Mailbox>();
  readonly #locals = new Map<string, LocalThread>();
  /** The owner of each virtual computer this peer runs threads of (placements and trims come only from it). */
  readonly #owners = new Map<string, string>();
  /** Acks to send at the end of this turn of the event loop, one per pair and sender host (cumulative). */
  readonly #acks = new Map<string, { vc: string; owner: string; from: number; origin: string; box: Mailbox }>();
  #flushScheduled = false;
  #ackTimer: NodeJS.Timeout | undefined;
  // V8 keeps a function's optimized code only weakly once no closure holds it: a fresh arrow per call is
  // optimized again after full GCs (seen with --log-code), one made once stays optimized.
  readonly #flushAcksSoon = (): void => this.#flushAcks();

  constructor(init: MessageManagerInit) {
    this.#links = init.links;
    this.#log = init.log;
    this.resolver = new AddressResolver({
      log: init.log,
      locate: async (vc, owner, thread) => {
        const r = await this.#links.request(owner, { t: 'thread-locate', vc, thread }, 10_000);
        if (r.t !== 'thread-locate-reply') throw new Error(`unexpected reply '${r.t}' to thread-locate`);
        return { epoch: r.epoch, state: r.state, ...(r.host !== undefined ? { host: r.host } : {}) };
      },
    });
    this.proxy = new PeerUnitProxy({
      links: init.links,
      log: init.log,
      resolver: this.resolver,
      deliverLocally: (msg) => this.#handleLocal(msg),
    });
  }

  get selfId(): string {
    return this.#links.selfId;
  }

  /**
   * A thread was placed here (its exec arrived): its mailbox opens once its executor reports the cursor, and
   * messages for it are held until then. Returns the handle the worker keeps for the placement.
   */
  threadStarted(init: { vc: string; owner: string; thread: number; epoch: number; mailboxSize?: number; notify(n: HostNotice): void }): LocalThread {
    const key = `${init.vc}/${init.thread}`;
    this.#owners.set(init.vc, init.owner);
    this.#locals.get(key)?.end('stopped');
    const mailboxSize = init.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    const box: Mailbox = new Mailbox(init.vc, init.thread, init.epoch, mailboxSize, {
      credit: (from, origin) => this.proxy.route(init.owner, origin, { t: 'msg-credit', vc: init.vc, from, to: init.thread, dest: origin }),
      consumed: (from, origin) => this.#ack(init.vc, init.owner, init.thread, from, origin, box, box.ackDue(from)),
    });
    this.#boxes.set(key, box);
    let ended = false;
    const local: LocalThread = {
      vc: init.vc,
      owner: init.owner,
      thread: init.thread,
      epoch: init.epoch,
      mailboxSize,
      notify: (n) => {
        if (!ended) init.notify(n);
      },
      end: (how) => {
        if (ended) return;
        ended = true;
        if (this.#locals.get(key) === local) this.#locals.delete(key);
        if (this.#boxes.get(key) === box) this.#boxes.delete(key);
        box.close();
        this.proxy.senderEnded(local, how);
      },
      events: {
        onCall: (call) => (ended ? Promise.reject(new ThreadEffectError('ERR_THREAD_ENDED', 'the placement has ended')) : this.#call(local, box, call)),
        onNotice: (n) => {
          if (ended) return;
          switch (n.kind) {
            case 'send':
              this.proxy.send(local, n.entries);
              break;
            case 'resend':
              this.proxy.resend(local, n.entries);
              break;
            case 'residual':
              this.proxy.handOff(local, n.entries);
              break;
            case 'cursor':
              for (const [o, v] of box.start(n.consumed)) this.#answer(init.owner, box, o, v);
              box.wake();
              break;
          }
        },
      },
    };
    this.#locals.set(key, local);
    this.resolver.update(init.vc, init.thread, { epoch: init.epoch, state: 'running', host: this.selfId });
    return local;
  }

  /** This peer left virtual computer `vc` (dismissed, or its owner is gone). */
  leave(vc: string): void {
    for (const [key, l] of this.#locals) if (key.startsWith(`${vc}/`)) l.end('stopped');
    this.#owners.delete(vc);
    this.proxy.forget(vc);
    this.resolver.forget(vc);
  }

  /**
   * Handles one messaging message from a peer or the application. `owner(vc)` is this peer's deployer of
   * `vc`, when it is the owner.
   */
  route(msg: MessageOf<MessagingType>, from: Sender, conn: Connection | undefined, owner: (vc: string) => OwnerSide | undefined): ReplyInput | void | Promise<ReplyInput | void> {
    switch (msg.t) {
      case 'msg-deliver':
      case 'msg-ack':
      case 'msg-nack':
      case 'msg-credit':
        if (msg.dest !== this.selfId) {
          // Relay: only the owner forwards, and only for its own virtual computers, one hop.
          if (owner(msg.vc) !== undefined && from.remoteId !== msg.dest) this.#links.send(msg.dest, msg);
          return;
        }
        return this.#handleLocal(msg);
      case 'msg-residual':
        if (owner(msg.vc) === undefined) return;
        this.proxy.adopt(
          msg.vc,
          msg.from,
          msg.entries.map((e) => ({ to: e.to, seq: e.seq, prev: e.prev, bytes: e.value })),
          msg.acked,
        );
        return;
      case 'thread-placed':
        if (this.#owners.get(msg.vc) !== from.remoteId) return;
        this.resolver.update(msg.vc, msg.thread, { epoch: msg.epoch, state: msg.state, ...(msg.host !== undefined ? { host: msg.host } : {}) });
        return;
      case 'msg-trim':
        if (this.#owners.get(msg.vc) !== from.remoteId && owner(msg.vc) === undefined) return;
        this.trim(msg.vc, msg.thread, msg.cursor);
        return;
      case 'thread-locate': {
        const d = ownerOrThrow(owner, msg.vc);
        const p = d.messaging.locate(msg.thread);
        return { t: 'thread-locate-reply', epoch: p.epoch, state: p.state, ...(p.host !== undefined ? { host: p.host } : {}) };
      }
      case 'globals-op':
        return ownerOrThrow(owner, msg.vc).messaging.threadOp(msg, from.remoteId);
      case 'globals-get':
      case 'globals-set':
      case 'globals-watch': {
        const d = owner(msg.vc);
        if (d === undefined || d.client !== conn) {
          throw Object.assign(new Error(`this controller deploys no virtual computer ${msg.vc} for application ${from.remoteId}`), { code: 'ERR_UNKNOWN_VC' });
        }
        return d.messaging.appOp(msg);
      }
    }
  }

  /** Receiver `thread` checkpointed at `cursor`: local senders (and the owner's residual outboxes) trim. */
  trim(vc: string, thread: number, cursor: Record<string, number>): void {
    for (const [sender, upTo] of Object.entries(cursor)) {
      this.#locals.get(`${vc}/${sender}`)?.notify({ kind: 'outbox-trim', to: thread, upTo });
    }
    this.proxy.trimRetained(vc, thread, cursor);
  }

  /** Stops everything (the peer is closing). */
  close(): void {
    for (const l of [...this.#locals.values()]) l.end('stopped');
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#acks.clear();
    this.proxy.close();
  }

  #handleLocal(msg: MessageOf<'msg-deliver' | 'msg-ack' | 'msg-nack' | 'msg-credit'>): void {
    switch (msg.t) {
      case 'msg-deliver':
        return this.#deliver(msg);
      case 'msg-ack':
        return this.proxy.onAck(msg);
      case 'msg-nack':
        return this.proxy.onNack(msg);
      case 'msg-credit':
        return this.proxy.onCredit(msg);
    }
  }

  #deliver(msg: MessageOf<'msg-deliver'>): void {
    const box = this.#boxes.get(`${msg.vc}/${msg.to}`);
    const owner = this.#owners.get(msg.vc) ?? msg.origin;
    if (msgBatchCount(msg.msgs) === 0) return;
    if (box === undefined || msg.epoch > box.epoch) {
      this.proxy.route(owner, msg.origin, {
        t: 'msg-nack',
        vc: msg.vc,
        from: msg.from,
        to: msg.to,
        epoch: msg.epoch,
        seq: msgBatchFirstSeq(msg.msgs),
        round: msg.round,
        reason: 'not-here',
        expect: -1,
        dest: msg.origin,
      });
      return;
    }
    let ack: Ack = 'none';
    forEachMsg(msg.msgs, (seq, prev, bytes) => {
      const o: Offer = { from: msg.from, seq, prev, bytes, origin: msg.origin, round: msg.round };
      const a = this.#answer(owner, box, o, box.offer(o), false);
      if (a === 'now' || ack === 'none') ack = a;
    });
    // One ack per frame: it is cumulative.
    if (ack !== 'none') this.#ack(box.vc, owner, box.thread, msg.from, msg.origin, box, ack === 'now');
    box.wake();
  }

  /**
   * Answers one offer; with `ackNow` false, returns the ack it needs instead of scheduling it. A duplicate is
   * acknowledged at once (its sender is re-sending and should stop); an accepted message can wait (see #ack).
   */
  #answer(owner: string, box: Mailbox, o: Offer, v: Verdict, ackNow = true): Ack {
    switch (v.kind) {
      case 'held':
      case 'dropped':
        return 'none';
      case 'accepted':
      case 'duplicate': {
        const when = v.kind === 'duplicate' ? 'now' : 'later';
        if (!ackNow) return when;
        this.#ack(box.vc, owner, box.thread, o.from, o.origin, box, when === 'now');
        return 'none';
      }
      case 'refused':
        this.proxy.route(owner, o.origin, {
          t: 'msg-nack',
          vc: box.vc,
          from: o.from,
          to: box.thread,
          epoch: box.epoch,
          seq: o.seq,
          round: o.round,
          reason: v.reason,
          expect: v.expect,
          dest: o.origin,
        });
        return 'none';
    }
  }

  /**
   * Acks are cumulative and carry the mailbox's state when they go out, one per pair and sender host. `now`: at
   * the end of this turn of the event loop; otherwise within ACK_DELAY_MS, which lets one ack cover many messages
   * (a ping-pong would otherwise send an ack frame per message each way). Nothing waits on a delayed ack: the
   * sender's window needs consumption acked only once a quarter of the mailbox was consumed (`Mailbox.ackDue`),
   * and its retransmission timer is far longer.
   */
  #ack(vc: string, owner: string, to: number, from: number, origin: string, box: Mailbox, now: boolean): void {
    this.#acks.set(`${vc}/${from}/${to}/${origin}`, { vc, owner, from, origin, box });
    if (now) {
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      setImmediate(this.#flushAcksSoon);
    } else if (this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(this.#flushAcksSoon, ACK_DELAY_MS);
      this.#ackTimer.unref();
    }
  }

  #flushAcks(): void {
    this.#flushScheduled = false;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const acks = [...this.#acks.values()];
    this.#acks.clear();
    for (const a of acks) {
      a.box.acked(a.from);
      this.proxy.route(a.owner, a.origin, {
        t: 'msg-ack',
        vc: a.vc,
        from: a.from,
        to: a.box.thread,
        epoch: a.box.epoch,
        upTo: a.box.accepted(a.from),
        consumed: a.box.consumed(a.from),
        dest: a.origin,
      });
    }
  }

  async #call(t: LocalThread, box: Mailbox, call: ThreadCall): Promise<unknown> {
    switch (call.kind) {
      case 'receive':
        return box.receive(call.from, call.timeoutMs, Math.max(1, call.max));
      case 'globals': {
        const { kind: _kind, ...op } = call;
        const reply = await this.#links.request(t.owner, { t: 'globals-op', vc: t.vc, thread: t.thread, epoch: t.epoch, ...op }, GLOBALS_TIMEOUT_MS).catch((err: unknown) => {
          const e = err as { code?: unknown; message?: unknown };
          const code = typeof e.code === 'string' ? e.code : 'ERR_GLOBALS';
          // The remote message is prefixed with the request and connection; the thread wants the reason.
          const message = String(e.message ?? err).replace(/^'globals-op' failed on [^:]*\): /, '');
          throw new ThreadEffectError(code, message);
        });
        if (reply.t !== 'globals-op-reply') throw new ThreadEffectError('ERR_GLOBALS', `unexpected reply '${reply.t}' to globals-op`);
        return { value: reply.value, ok: reply.ok };
      }
    }
  }
}

function ownerOrThrow(owner: (vc: string) => OwnerSide | undefined, vc: string): OwnerSide {
  const d = owner(vc);
  if (d === undefined) throw Object.assign(new Error(`this peer is not the owner of virtual computer ${vc}`), { code: 'ERR_UNKNOWN_VC' });
  return d;
}

// ─── the owner's side, one per deployer ──────────────────────────────────────────────────────────

export interface DeployerMessagingInit {
  vc: string;
  links: PeerLinks;
  log: Logger;
  /** This peer's message manager (its resolver learns placements without a message). */
  manager: MessageManager | undefined;
  /** The application's connection, for globals-changed. */
  client: Connection;
  /** Enrolled workers: where placements are pushed. */
  workers(): Iterable<string>;
  /** The deployer's record of a live thread. */
  thread(n: number): ThreadRecord | undefined;
  /** Whether `host`'s peer is alive (or only suspected) in the membership. */
  peerAlive(host: string): boolean;
  mailboxSize?: number;
  lockLeaseMs?: number;
}

/**
 * What a deployer adds for message passing and globals: its global variable manager, the placement publisher
 * that feeds the address resolvers, and the handlers of thread-locate and the globals requests.
 */
export class DeployerMessaging {
  readonly globals: GlobalVariableManager;
  readonly placements: PlacementPublisher;
  readonly mailboxSize: number;
  readonly #init: DeployerMessagingInit;
  readonly #watched = new Set<string>();

  constructor(init: DeployerMessagingInit) {
    this.#init = init;
    this.mailboxSize = init.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    const manager = init.manager;
    this.placements = new PlacementPublisher({
      vc: init.vc,
      links: init.links,
      workers: init.workers,
      local: manager === undefined ? undefined : (thread, p) => manager.resolver.update(init.vc, thread, p),
    });
    this.globals = new GlobalVariableManager({
      vc: init.vc,
      log: init.log,
      leaseMs: init.lockLeaseMs,
      holderAlive: (thread, epoch) => {
        const t = init.thread(thread);
        return t !== undefined && t.state === 'running' && t.placements === epoch && t.host !== undefined && init.peerAlive(t.host);
      },
      changed: (name, value) => {
        if (!this.#watched.has(name) || !init.client.isOpen) return;
        try {
          init.client.send({ t: 'globals-changed', vc: init.vc, name, ...(value !== undefined ? { value } : {}) });
        } catch (err) {
          init.log.debug(`cannot send globals-changed to the application: ${(err as Error).message}`);
        }
      },
    });
  }

  /** Where a thread runs (thread-locate). */
  locate(thread: number): Placement {
    return this.placements.locate(thread, this.#init.thread(thread));
  }

  /** A thread's globals operation, from the peer `host` that runs it; refused from a stale placement. */
  async threadOp(msg: MessageOf<'globals-op'>, host: string): Promise<ReplyInput> {
    const t = this.#init.thread(msg.thread);
    if (t === undefined || t.state !== 'running' || t.placements !== msg.epoch || t.host !== host) {
      throw new ThreadEffectError(
        'ERR_STALE_EPOCH',
        `thread ${msg.thread} placement ${msg.epoch} on ${host} is not the thread's current placement; its operations are ignored`,
      );
    }
    const r: GlobalsReply = await this.globals.threadOp(msg.thread, msg.epoch, msg.seq, msg);
    return { t: 'globals-op-reply', ...(r.value !== undefined ? { value: r.value } : {}), ...(r.ok !== undefined ? { ok: r.ok } : {}) };
  }

  /** The application's globals requests. */
  async appOp(msg: MessageOf<'globals-get' | 'globals-set' | 'globals-watch'>): Promise<ReplyInput> {
    switch (msg.t) {
      case 'globals-get': {
        const value = this.globals.get(msg.name);
        return { t: 'globals-get-reply', ...(value !== undefined ? { value } : {}) };
      }
      case 'globals-set':
        await this.globals.set(msg.name, msg.value);
        return { t: 'globals-set-reply' };
      case 'globals-watch':
        if (msg.on) this.#watched.add(msg.name);
        else this.#watched.delete(msg.name);
        return { t: 'globals-watch-reply' };
    }
  }

  placed(t: ThreadRecord): void {
    this.placements.placed(t);
  }

  /** `t` lost its host: held messages wait for its next placement; its locks expire with their leases. */
  queued(t: ThreadRecord): void {
    this.placements.queued(t);
  }

  /** `t` ended: messages to it are dropped, its locks are released, its senders' outboxes to it are dropped. */
  ended(t: ThreadRecord): void {
    this.placements.ended(t);
    this.globals.threadEnded(t.thread);
  }

  /**
   * Recovery's hook: thread `thread`'s checkpoint taken at ThreadState.seq `seq` with consumed cursor `consumed`
   * is acknowledged (held by another peer). Senders trim their outboxes to it, and the global variable manager
   * forgets the replies that a resume from this checkpoint can no longer ask for.
   */
  checkpointAcknowledged(thread: number, seq: number, consumed: Record<number, number>): void {
    this.globals.checkpointAcknowledged(thread, seq);
    const cursor: Record<string, number> = {};
    for (const [k, v] of Object.entries(consumed)) cursor[k] = v;
    if (Object.keys(cursor).length === 0) return;
    const msg = { t: 'msg-trim' as const, vc: this.#init.vc, thread, cursor };
    for (const id of this.#init.workers()) this.#init.links.send(id, msg);
    // The owner's own residual outboxes (and its own threads, if it runs any and is not among the workers).
    const self = this.#init.links.selfId;
    if (![...this.#init.workers()].includes(self)) this.#init.manager?.trim(this.#init.vc, thread, cursor);
  }

  close(): void {
    this.globals.close();
    this.#watched.clear();
    // Residual outboxes and placements kept at the owner for this virtual computer.
    this.#init.manager?.proxy.forget(this.#init.vc);
    this.#init.manager?.resolver.forget(this.#init.vc);
  }
}
