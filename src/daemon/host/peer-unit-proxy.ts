/**
 * Peer unit proxies (paper's name): the sending side of message passing on one peer. For every pair
 * (sender thread here → receiver thread anywhere) a *channel* keeps the messages the receiver's mailbox has
 * not acknowledged yet, sends them straight to the peer that runs the receiver (its address resolver says
 * which), and goes back to the first unacknowledged one whenever the mailbox refuses one (go-back-N):
 *
 * - 'gap': the mailbox misses messages before this one (it was re-placed and resumed from a checkpoint, or an
 *   earlier message was refused): the channel re-sends from the mailbox's `expect`, taking what it no longer
 *   holds from the sender thread's outbox (`outbox-resend`) or, for a finished sender, from its residual outbox;
 * - 'full': the channel pauses until the mailbox's `msg-credit` (or a retry timer, in case the credit was lost);
 * - 'not-here': the resolver asks the owner where the receiver is now, and the channel waits for the answer.
 *
 * Every transmission carries the channel's `round` (how many times it went back); refusals of an older round
 * are ignored, so messages still in flight after a rewind cannot start another one.
 *
 * Direct connections between peers come from PeerController.connectTo. A peer that cannot be reached directly
 * (firewall, NAT) is reached through the virtual computer's owner, which forwards anything addressed to another
 * peer (`dest`); after a failed direct attempt, messages to that peer go through the owner for a while.
 *
 * When a sender thread ends, its host hands its outbox (and what it had not had acknowledged) to the owner
 * (`msg-residual`): the owner's proxy then delivers the rest and keeps the outbox until the receivers
 * checkpointed past it, so a finished thread's messages survive its host's death.
 */
import type { Logger } from '../../protocol/log.ts';
import type { Message, MessageOf } from '../../protocol/messages.ts';
import type { Connection } from '../../protocol/connection.ts';
import type { PeerLinks } from '../peer-links.ts';
import type { OutboxEntry } from '../../runtime/thread-context.ts';
import { hasEnded, type AddressResolver, type Placement } from './address-resolver.ts';
import { encodeMsgBatch } from '../../protocol/msg-batch.ts';
import type { LocalThread } from './local-thread.ts';

/** Retry after a 'full' refusal when no credit came. */
const FULL_RETRY_MS = 1000;
/** Go back to the first unacknowledged message when nothing was acknowledged for this long (a lost refusal). */
const RETRANSMIT_MS = 2000;
/** Most bytes of messages in one msg-deliver frame. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Most messages in one msg-deliver frame. */
const BATCH_MESSAGES = 4096;
/** How long a sender thread has to answer an `outbox-resend` before the channel skips what it misses. */
const OUTBOX_WAIT_MS = 2000;
/** After a failed direct connection, messages to that peer go through the owner for this long. */
const RELAY_FOR_MS = 30_000;
/** Entries per msg-residual part: keeps each frame well below the maximum frame size. */
const RESIDUAL_PART_BYTES = 16 * 1024 * 1024;

interface Channel {
  readonly vc: string;
  readonly owner: string;
  readonly from: number;
  readonly to: number;
  /** The sender thread running here; undefined for a finished sender's residual channel at the owner. */
  local: LocalThread | undefined;
  /** Messages not acknowledged by the current target's mailbox, by seq. */
  queue: OutboxEntry[];
  /** Index in `queue` of the next message to transmit. */
  next: number;
  round: number;
  /** Highest seq the current target acknowledged. */
  acked: number;
  target: Placement | undefined;
  resolving: boolean;
  /** Waiting for a credit ('full'), or for the sender's outbox ('gap'). */
  paused: 'full' | 'outbox' | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Retransmission timer: armed while transmitted messages wait for their ack. */
  rto: NodeJS.Timeout | undefined;
  /** The `expect` an outbox-resend was asked for (asked once per gap). */
  askedAfter: number | undefined;
  /** A finished sender's remaining outbox to `to` (residual channels): re-sent if the receiver resumes. */
  retained: OutboxEntry[] | undefined;
  /** The receiver ended: every message to it counts as delivered. */
  receiverEnded: boolean;
  /**
   * The local sender's window as the thread counts it: seqs it sent to `to` that no `acked` notice covers yet,
   * oldest first from `inflightHead`; and the highest seq the receiver reported consumed.
   */
  inflight: number[];
  inflightHead: number;
  consumed: number;
}

export interface PeerUnitProxyInit {
  links: PeerLinks;
  log: Logger;
  resolver: AddressResolver;
  /** Handles a message addressed to this peer itself (no socket). */
  deliverLocally(msg: MessageOf<'msg-deliver' | 'msg-ack' | 'msg-nack' | 'msg-credit'>): void;
}

interface DirectLink {
  conn: Connection | undefined;
  /** Messages waiting for the connection, in order. */
  waiting: Message[] | undefined;
}

export class PeerUnitProxy {
  readonly #links: PeerLinks;
  readonly #log: Logger;
  readonly #resolver: AddressResolver;
  readonly #deliverLocally: PeerUnitProxyInit['deliverLocally'];
  readonly #channels = new Map<string, Channel>();
  readonly #direct = new Map<string, DirectLink>();
  /** Peers with no direct path, until when. */
  readonly #relayUntil = new Map<string, number>();
  /** Acked notices to post to sender threads at the end of this turn, per channel. */
  readonly #ackNotices = new Map<Channel, number>();
  #noticesScheduled = false;
  /** Channels with messages to transmit at the end of this turn (one frame per channel and turn). */
  readonly #dirty = new Set<Channel>();
  #flushScheduled = false;
  // V8 keeps a function's optimized code only weakly once no closure holds it: a fresh arrow per call is
  // optimized again after full GCs (seen with --log-code), one made once stays optimized.
  readonly #flushSoon = (): void => this.#flush();
  #closed = false;

  constructor(init: PeerUnitProxyInit) {
    this.#links = init.links;
    this.#log = init.log;
    this.#resolver = init.resolver;
    this.#deliverLocally = init.deliverLocally;
    init.resolver.on((vc, thread, now, before) => this.#moved(vc, thread, now, before));
  }

  get selfId(): string {
    return this.#links.selfId;
  }

  /** Channels with messages not yet acknowledged (for tests and status). */
  get pending(): number {
    let n = 0;
    for (const c of this.#channels.values()) n += c.queue.length;
    return n;
  }

  /** A local thread sent messages, in order. */
  send(t: LocalThread, entries: readonly OutboxEntry[]): void {
    let ch: Channel | undefined;
    for (const entry of entries) {
      if (ch?.to !== entry.to) {
        if (ch !== undefined) this.#window(ch);
        ch = this.#channel(t.vc, t.owner, t.thread, entry.to);
        this.#adopt(ch, t);
      }
      if (ch.receiverEnded) {
        t.notify({ kind: 'acked', to: entry.to, upTo: entry.seq });
        continue;
      }
      ch.inflight.push(entry.seq);
      this.#insert(ch, entry);
      this.#pump(ch);
    }
    if (ch !== undefined) this.#window(ch);
  }

  /** The channel's sender is (now) `t`: a new placement of the sender counts its window from scratch. */
  #adopt(ch: Channel, t: LocalThread): void {
    if (ch.local === t) return;
    ch.local = t;
    ch.inflight = [];
    ch.inflightHead = 0;
  }

  /** A local thread re-sends outbox entries (it resumed, or a channel asked): the mailboxes drop what they have. */
  resend(t: LocalThread, entries: OutboxEntry[]): void {
    const byTo = groupByReceiver(entries);
    for (const [to, list] of byTo) {
      const ch = this.#channel(t.vc, t.owner, t.thread, to);
      this.#adopt(ch, t);
      if (ch.receiverEnded) continue;
      for (const e of list) this.#insert(ch, e);
      if (ch.paused === 'outbox') ch.paused = undefined;
      clearTimeout(ch.timer);
      this.#rewind(ch);
      this.#pump(ch);
    }
    // A gap the thread could not fill (its outbox was trimmed past it) is skipped instead of stalling the pair.
    for (const ch of this.#channelsOf(t.vc, t.thread)) if (ch.askedAfter !== undefined && !byTo.has(ch.to)) this.#fillGap(ch);
  }

  /**
   * A local sender thread ended with this outbox. Its channels go to the owner, which delivers what was not
   * acknowledged and keeps the rest for receivers that may resume from before it.
   */
  handOff(t: LocalThread, outbox: OutboxEntry[]): void {
    const acked: Record<string, number> = {};
    const entries = new Map<string, OutboxEntry>();
    for (const e of outbox) entries.set(`${e.to}/${e.seq}`, e);
    for (const ch of this.#channelsOf(t.vc, t.thread)) {
      if (ch.local !== t) continue;
      acked[ch.to] = ch.acked;
      for (const e of ch.queue) entries.set(`${e.to}/${e.seq}`, e);
      this.#delete(ch);
    }
    const all = [...entries.values()].sort((a, b) => a.seq - b.seq);
    if (all.length === 0) return;
    if (t.owner === this.selfId) {
      this.adopt(t.vc, t.thread, all, acked);
      return;
    }
    let part: MessageOf<'msg-residual'>['entries'] = [];
    let bytes = 0;
    const flush = (): void => {
      this.#links.send(t.owner, { t: 'msg-residual', vc: t.vc, from: t.thread, entries: part, acked, epoch: t.epoch, token: t.token });
      part = [];
      bytes = 0;
    };
    for (const e of all) {
      if (part.length > 0 && bytes + e.bytes.byteLength > RESIDUAL_PART_BYTES) flush();
      part.push({ to: e.to, seq: e.seq, prev: e.prev, value: e.bytes });
      bytes += e.bytes.byteLength;
    }
    flush();
  }

  /** A local sender's placement ended: `stopped` drops its channels (a later placement re-sends its outbox). */
  senderEnded(t: LocalThread, how: 'finished' | 'stopped'): void {
    for (const ch of this.#channelsOf(t.vc, t.thread)) {
      if (ch.local !== t) continue;
      // Finished: the residual notice came first and handed the channels off; what is left has nothing to send.
      if (how === 'stopped' || ch.queue.length === 0) this.#delete(ch);
      else ch.local = undefined;
    }
  }

  /** At the owner: a finished sender's outbox, from its host (or from this peer's own executor). */
  adopt(vc: string, from: number, entries: OutboxEntry[], acked: Record<string, number>): void {
    for (const [to, list] of groupByReceiver(entries)) {
      const ch = this.#channel(vc, this.selfId, from, to);
      ch.local = undefined;
      if (ch.receiverEnded) continue;
      const retained = new Map<number, OutboxEntry>();
      for (const e of ch.retained ?? []) retained.set(e.seq, e);
      for (const e of list) retained.set(e.seq, e);
      ch.retained = [...retained.values()].sort((a, b) => a.seq - b.seq);
      const upTo = acked[to] ?? -1;
      for (const e of list) if (e.seq > upTo) this.#insert(ch, e);
      this.#rewind(ch);
      this.#pump(ch);
    }
  }

  /** Receiver `to` checkpointed at `cursor`: residual outboxes here drop what it will never ask for again. */
  trimRetained(vc: string, to: number, cursor: Record<string, number>): void {
    for (const ch of this.#channels.values()) {
      if (ch.vc !== vc || ch.to !== to || ch.retained === undefined) continue;
      const upTo = cursor[ch.from];
      if (upTo === undefined) continue;
      ch.retained = ch.retained.filter((e) => e.seq > upTo);
      if (ch.retained.length === 0 && ch.queue.length === 0 && ch.local === undefined) this.#delete(ch);
    }
  }

  onAck(msg: MessageOf<'msg-ack'>): void {
    const ch = this.#channels.get(key(msg.vc, msg.from, msg.to));
    if (ch === undefined || ch.target?.epoch !== msg.epoch) return;
    // The sender's window is what its receiver has not received yet: one sender never fills a mailbox.
    if (ch.local !== undefined && msg.consumed > ch.consumed) {
      ch.consumed = msg.consumed;
      this.#window(ch);
    }
    this.#acknowledge(ch, msg.upTo);
  }

  onNack(msg: MessageOf<'msg-nack'>): void {
    const ch = this.#channels.get(key(msg.vc, msg.from, msg.to));
    if (ch === undefined || msg.round !== ch.round || ch.target?.epoch !== msg.epoch) return;
    if (msg.reason === 'not-here') {
      this.#resolver.invalidate(msg.vc, msg.to, msg.epoch);
      ch.target = undefined;
      this.#rewind(ch);
      this.#pump(ch);
      return;
    }
    this.#acknowledge(ch, msg.expect);
    this.#rewind(ch);
    if (msg.reason === 'full') {
      ch.paused = 'full';
      clearTimeout(ch.timer);
      ch.timer = setTimeout(() => this.#unpause(ch, 'full'), FULL_RETRY_MS);
      ch.timer.unref();
      return;
    }
    this.#fillGap(ch, msg.expect);
  }

  onCredit(msg: MessageOf<'msg-credit'>): void {
    const ch = this.#channels.get(key(msg.vc, msg.from, msg.to));
    if (ch !== undefined) this.#unpause(ch, 'full');
  }

  /**
   * Sends a messaging message to peer `dest`: locally, directly, or through `owner` when `dest` has no direct
   * path from here. In order per destination.
   */
  route(owner: string, dest: string, msg: MessageOf<'msg-deliver' | 'msg-ack' | 'msg-nack' | 'msg-credit'>): void {
    if (this.#closed) return;
    if (dest === this.selfId) {
      queueMicrotask(() => this.#deliverLocally(msg));
      return;
    }
    const until = this.#relayUntil.get(dest);
    if (until !== undefined && dest !== owner) {
      if (Date.now() < until) {
        this.#links.send(owner, msg);
        return;
      }
      this.#relayUntil.delete(dest);
    }
    let link = this.#direct.get(dest);
    if (link?.conn?.isOpen === true && link.waiting === undefined) {
      try {
        link.conn.send(msg);
        return;
      } catch (err) {
        this.#log.debug(`direct send to ${dest} failed: ${(err as Error).message}; reconnecting`);
      }
    }
    if (link?.waiting !== undefined) {
      link.waiting.push(msg);
      return;
    }
    link = { conn: undefined, waiting: [msg] };
    this.#direct.set(dest, link);
    const l = link;
    this.#links.connection(dest).then(
      (conn) => {
        l.conn = conn;
        const waiting = l.waiting ?? [];
        l.waiting = undefined;
        for (const m of waiting) conn.send(m);
      },
      (err: unknown) => {
        const waiting = l.waiting ?? [];
        this.#direct.delete(dest);
        if (dest === owner) {
          this.#log.warn(`cannot reach the owner ${owner}: ${waiting.length} messaging message(s) dropped (${(err as Error).message})`);
          return;
        }
        this.#log.info(`no direct path to peer ${dest} (${(err as Error).message}): relaying messages through the owner ${owner}`);
        this.#relayUntil.set(dest, Date.now() + RELAY_FOR_MS);
        for (const m of waiting) this.#links.send(owner, m);
      },
    );
  }

  /** Drops everything of a virtual computer (this peer left it). */
  forget(vc: string): void {
    for (const ch of [...this.#channels.values()]) if (ch.vc === vc) this.#delete(ch);
  }

  close(): void {
    this.#closed = true;
    for (const ch of [...this.#channels.values()]) this.#delete(ch);
  }

  // ── channels ──

  #channel(vc: string, owner: string, from: number, to: number): Channel {
    const k = key(vc, from, to);
    let ch = this.#channels.get(k);
    if (ch === undefined) {
      const known = this.#resolver.current(vc, to);
      ch = {
        vc,
        owner,
        from,
        to,
        local: undefined,
        queue: [],
        next: 0,
        round: 0,
        acked: -1,
        target: undefined,
        resolving: false,
        paused: undefined,
        timer: undefined,
        rto: undefined,
        askedAfter: undefined,
        retained: undefined,
        receiverEnded: known !== undefined && hasEnded(known),
        inflight: [],
        inflightHead: 0,
        consumed: -1,
      };
      this.#channels.set(k, ch);
    }
    return ch;
  }

  *#channelsOf(vc: string, from: number): Iterable<Channel> {
    for (const ch of [...this.#channels.values()]) if (ch.vc === vc && ch.from === from) yield ch;
  }

  #delete(ch: Channel): void {
    clearTimeout(ch.timer);
    clearTimeout(ch.rto);
    this.#dirty.delete(ch);
    this.#ackNotices.delete(ch);
    if (this.#channels.get(key(ch.vc, ch.from, ch.to)) === ch) this.#channels.delete(key(ch.vc, ch.from, ch.to));
  }

  /** Adds a message in seq order, unless the channel has it already. */
  #insert(ch: Channel, e: OutboxEntry): void {
    const q = ch.queue;
    if (q.length === 0 || q[q.length - 1]!.seq < e.seq) {
      q.push(e);
      return;
    }
    let i = q.length - 1;
    while (i >= 0 && q[i]!.seq > e.seq) i--;
    if (i >= 0 && q[i]!.seq === e.seq) return;
    q.splice(i + 1, 0, e);
    if (i + 1 < ch.next) ch.next = i + 1;
  }

  #rewind(ch: Channel): void {
    ch.round++;
    ch.next = 0;
  }

  #unpause(ch: Channel, why: 'full' | 'outbox'): void {
    if (ch.paused !== why) return;
    ch.paused = undefined;
    clearTimeout(ch.timer);
    this.#rewind(ch);
    this.#pump(ch);
  }

  /** The target's mailbox holds everything up to `upTo`. */
  #acknowledge(ch: Channel, upTo: number): void {
    if (upTo <= ch.acked) return;
    ch.acked = upTo;
    let k = 0;
    while (k < ch.queue.length && ch.queue[k]!.seq <= upTo) k++;
    if (k > 0) {
      ch.queue.splice(0, k);
      ch.next = Math.max(0, ch.next - k);
    }
    // Progress: the retransmission timer starts over for what is still in flight.
    clearTimeout(ch.rto);
    ch.rto = undefined;
    if (ch.next > 0) this.#armRetransmit(ch);
    if (ch.local === undefined && ch.queue.length === 0 && ch.retained === undefined) this.#delete(ch);
  }

  #armRetransmit(ch: Channel): void {
    if (ch.rto !== undefined) return;
    ch.rto = setTimeout(() => {
      ch.rto = undefined;
      if (ch.queue.length === 0 || ch.paused !== undefined || ch.target === undefined) return;
      this.#log.debug(`no ack from thread ${ch.to} of ${ch.vc} for ${RETRANSMIT_MS} ms: re-sending from seq ${ch.queue[0]!.seq}`);
      this.#rewind(ch);
      this.#pump(ch);
    }, RETRANSMIT_MS);
    ch.rto.unref();
  }

  /**
   * The target misses messages after `expect` that come before the channel's first one: ask the sender thread's
   * outbox for them (once), take them from a residual outbox, or skip them when nobody has them any more.
   */
  #fillGap(ch: Channel, expect = ch.askedAfter ?? ch.acked): void {
    const first = ch.queue[0];
    if (first === undefined || first.prev <= expect) {
      ch.askedAfter = undefined;
      this.#pump(ch);
      return;
    }
    if (ch.retained !== undefined) {
      for (const e of ch.retained) if (e.seq > expect) this.#insert(ch, e);
      if (ch.queue[0]!.prev <= expect) {
        this.#pump(ch);
        return;
      }
    } else if (ch.local !== undefined && ch.askedAfter !== expect) {
      ch.askedAfter = expect;
      ch.paused = 'outbox';
      clearTimeout(ch.timer);
      ch.timer = setTimeout(() => this.#fillGap(ch, expect), OUTBOX_WAIT_MS);
      ch.timer.unref();
      ch.local.notify({ kind: 'outbox-resend', to: ch.to, after: expect });
      return;
    }
    // Nobody holds the missing messages any more (trimmed past a checkpoint the receiver did not resume from).
    this.#log.error(
      `messages ${expect + 1}..${first.prev} from thread ${ch.from} to thread ${ch.to} of ${ch.vc} are lost: no outbox holds them any more; delivering the rest`,
    );
    ch.queue[0] = { ...first, prev: expect };
    ch.askedAfter = undefined;
    ch.paused = undefined;
    clearTimeout(ch.timer);
    this.#rewind(ch);
    this.#pump(ch);
  }

  #pump(ch: Channel): void {
    if (this.#closed || ch.paused !== undefined || ch.receiverEnded) return;
    const target = ch.target;
    if (target === undefined) {
      if (ch.resolving || ch.queue.length === 0) return;
      ch.resolving = true;
      void this.#resolver.resolve(ch.vc, ch.owner, ch.to).then((p) => {
        ch.resolving = false;
        if (this.#channels.get(key(ch.vc, ch.from, ch.to)) !== ch) return;
        this.#retarget(ch, p, undefined);
        this.#pump(ch);
      });
      return;
    }
    if (ch.next >= ch.queue.length) return;
    // Everything a turn of the event loop brings (a burst of sends, a rewind) goes out as one frame.
    this.#dirty.add(ch);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushSoon);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const ch of dirty) {
      const target = ch.target;
      if (this.#closed || ch.paused !== undefined || ch.receiverEnded || target === undefined) continue;
      while (ch.next < ch.queue.length) {
        const first = ch.next;
        let bytes = 0;
        while (ch.next < ch.queue.length && ch.next - first < BATCH_MESSAGES && (ch.next === first || bytes < BATCH_BYTES)) {
          bytes += ch.queue[ch.next++]!.bytes.byteLength;
        }
        // One binary batch per frame (msg-batch.ts), written straight from the thread's entries.
        const msgs = encodeMsgBatch(ch.queue, first, ch.next);
        this.route(ch.owner, target.host!, {
          t: 'msg-deliver',
          vc: ch.vc,
          from: ch.from,
          to: ch.to,
          epoch: target.epoch,
          round: ch.round,
          origin: this.selfId,
          dest: target.host!,
          msgs,
        });
      }
      this.#armRetransmit(ch);
    }
  }

  /** The receiver's placement changed (resolver listener). */
  #moved(vc: string, to: number, now: Placement, before: Placement | undefined): void {
    for (const ch of [...this.#channels.values()]) {
      if (ch.vc !== vc || ch.to !== to) continue;
      this.#retarget(ch, now, before);
      this.#pump(ch);
    }
  }

  #retarget(ch: Channel, now: Placement, before: Placement | undefined): void {
    if (hasEnded(now)) {
      ch.receiverEnded = true;
      const last = ch.queue[ch.queue.length - 1];
      ch.queue = [];
      ch.retained = undefined;
      clearTimeout(ch.timer);
      clearTimeout(ch.rto);
      ch.rto = undefined;
      if (ch.local !== undefined) {
        if (last !== undefined) {
          ch.consumed = Math.max(ch.consumed, last.seq);
          this.#window(ch, true);
        }
        ch.local.notify({ kind: 'outbox-trim', to: ch.to, upTo: Number.MAX_SAFE_INTEGER });
      } else {
        this.#delete(ch);
      }
      return;
    }
    if (now.state !== 'running') {
      ch.target = undefined;
      return;
    }
    if (ch.target !== undefined && ch.target.epoch === now.epoch && ch.target.host === now.host) return;
    const resumed = ch.target !== undefined || (before !== undefined && before.epoch < now.epoch && before.state !== 'queued') || now.epoch > 1;
    ch.target = now;
    ch.acked = -1;
    ch.paused = undefined;
    ch.askedAfter = undefined;
    clearTimeout(ch.timer);
    this.#rewind(ch);
    if (!resumed) return;
    // A receiver placed again starts from its checkpoint's cursor: it may miss messages it had before.
    // Send it everything still in the outbox; its mailbox drops what it already has.
    if (ch.retained !== undefined) for (const e of ch.retained) this.#insert(ch, e);
    else ch.local?.notify({ kind: 'outbox-resend', to: ch.to, after: -1 });
  }

  /**
   * Tells the sender thread what the receiver consumed, only once its window is at least half used (or `now`):
   * below that, `send` never waits, and a notice (a wake-up of the thread) per exchange costs more than the
   * message. The thread flushes its sends before it waits, so this side sees the window it waits on, and every
   * consumption after that is told.
   */
  #window(ch: Channel, now = false): void {
    const local = ch.local;
    if (local === undefined) return;
    const q = ch.inflight;
    let head = ch.inflightHead;
    if (head >= q.length || q[head]! > ch.consumed) return;
    if (!now && q.length - head < Math.max(1, local.mailboxSize >> 1)) return;
    while (head < q.length && q[head]! <= ch.consumed) head++;
    if (head === q.length) {
      ch.inflight = [];
      ch.inflightHead = 0;
    } else if (head > 1024 && head * 2 > q.length) {
      ch.inflight = q.slice(head);
      ch.inflightHead = 0;
    } else {
      ch.inflightHead = head;
    }
    this.#noticeAcked(ch, ch.consumed);
  }

  #noticeAcked(ch: Channel, upTo: number): void {
    this.#ackNotices.set(ch, Math.max(upTo, this.#ackNotices.get(ch) ?? -1));
    if (this.#noticesScheduled) return;
    this.#noticesScheduled = true;
    setImmediate(() => {
      this.#noticesScheduled = false;
      const notices = [...this.#ackNotices];
      this.#ackNotices.clear();
      for (const [c, n] of notices) c.local?.notify({ kind: 'acked', to: c.to, upTo: n });
    });
  }
}

function key(vc: string, from: number, to: number): string {
  return `${vc}/${from}/${to}`;
}

function groupByReceiver(entries: readonly OutboxEntry[]): Map<number, OutboxEntry[]> {
  const out = new Map<number, OutboxEntry[]>();
  for (const e of entries) {
    let list = out.get(e.to);
    if (list === undefined) out.set(e.to, (list = []));
    list.push(e);
  }
  for (const list of out.values()) list.sort((a, b) => a.seq - b.seq);
  return out;
}
