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
import type { Logger } from '../../protocol/log.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { PeerLinks } from '../peer-links.ts';
import type { HandlerTable, Sender } from '../message-handlers.ts';
import type { HostNotice, ThreadCall } from '../../runtime/worker-messages.ts';
import { DEFAULT_MAILBOX_SIZE } from '../../runtime/thread-messaging.ts';
import { isThreadEffectCode, ThreadEffectCode, ThreadEffectError } from '../../runtime/errors.ts';
import { RemoteError } from '../../protocol/errors.ts';
import { AddressResolver } from './address-resolver.ts';
import { Mailbox, type Offer, type Verdict } from './mailbox.ts';
import type { LocalThread } from './local-thread.ts';
import { PeerUnitProxy } from './peer-unit-proxy.ts';
import { forEachMsg, msgBatchCount, msgBatchFirstSeq } from '../../protocol/msg-batch.ts';

/** Placement lookups at once for messages from a host this peer does not know (see #fromItsHost). */
const MAX_SENDER_LOOKUPS = 256;

/** Longest an ack waits to cover more messages (senders retransmit after 2 s without one). */
const ACK_DELAY_MS = 20;

/** When a message needs an ack: not at all, at the end of this turn, or within ACK_DELAY_MS. */
type Ack = 'none' | 'now' | 'later';

/** A globals request waits for a lock as long as it takes; only its connection closing ends it. */
const GLOBALS_TIMEOUT_MS = 2 ** 31 - 1;

export interface MessageManagerInit {
  links: PeerLinks;
  log: Logger;
  /** Whether this peer is the owner of virtual computer `vc` (owners relay and keep residual outboxes). */
  owns(vc: string): boolean;
  /**
   * Whether `host` runs placement `epoch` of `thread` of `vc` with task token `token`, as this peer (its owner)
   * recorded it: a residual outbox is taken only from there. @default never
   */
  hostOf?(vc: string, thread: number, epoch: number, token: Uint8Array, host: string): boolean;
}

/** One per peer: mailboxes, resolver and proxy, and the handlers of the messages between hosts. */
export class MessageManager {
  readonly resolver: AddressResolver;
  readonly proxy: PeerUnitProxy;
  readonly #links: PeerLinks;
  readonly #owns: (vc: string) => boolean;
  readonly #hostOf: NonNullable<MessageManagerInit['hostOf']>;
  readonly #log: Logger;
  /** Placements of speaking threads being looked up (`vc/thread`), bounded. */
  readonly #lookups = new Set<string>();
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
    this.#owns = init.owns;
    this.#hostOf = init.hostOf ?? (() => false);
    this.#log = init.log;
    this.resolver = new AddressResolver({
      log: init.log,
      locate: async (vc, owner, thread) => {
        const r = await this.#links.request(owner, { t: 'thread-locate', vc, thread }, 10_000);
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
  threadStarted(init: { vc: string; owner: string; thread: number; epoch: number; token: Uint8Array; mailboxSize?: number; notify(n: HostNotice): void }): LocalThread {
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
      token: init.token,
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

  /**
   * Whether a message between hosts comes from where it should: the virtual computer's owner (it relays, and
   * delivers finished threads' outboxes), or the host of the thread that speaks (the sender of a msg-deliver, the
   * receiver of an ack, nack or credit) as this peer's address resolver knows it. An unknown or older placement is
   * looked up (the sender retransmits after 2 s); a message naming another origin than its sender is dropped
   * with a warning.
   */
  #fromItsHost(msg: MessageOf<'msg-deliver' | 'msg-ack' | 'msg-nack' | 'msg-credit'>, from: string): boolean {
    const owner = this.#owners.get(msg.vc);
    if (owner === undefined || from === owner) return true; // nothing of it here (answered not-here), or the owner relaying
    const speaker = msg.t === 'msg-deliver' ? msg.from : msg.to;
    if (msg.t === 'msg-deliver' && msg.origin !== from) {
      this.#log.warn(`dropped a msg-deliver of thread ${msg.from} of ${msg.vc} from ${from}: it names ${msg.origin} as its origin`);
      return false;
    }
    const p = this.resolver.current(msg.vc, speaker);
    if (p?.state === 'running' && p.host === from) return true;
    if (p === undefined || p.state === 'running' || p.state === 'queued') {
      // Perhaps a placement this peer has not heard of yet: ask the owner (bounded), the sender tries again.
      if (this.#lookups.size < MAX_SENDER_LOOKUPS && !this.#lookups.has(`${msg.vc}/${speaker}`)) {
        const key = `${msg.vc}/${speaker}`;
        this.#lookups.add(key);
        const timer = setTimeout(() => this.#lookups.delete(key), 10_000);
        void this.resolver.resolve(msg.vc, owner, speaker).finally(() => {
          clearTimeout(timer);
          this.#lookups.delete(key);
        });
      }
      this.#log.debug(`held back '${msg.t}' of thread ${speaker} of ${msg.vc} from ${from}: not its known host (${p?.host ?? 'unknown'})`);
    } else {
      this.#log.debug(`dropped '${msg.t}' of thread ${speaker} of ${msg.vc} from ${from}: the thread has ended`);
    }
    return false;
  }

  /** This peer left virtual computer `vc` (dismissed, or its owner is gone). */
  leave(vc: string): void {
    for (const [key, l] of this.#locals) if (key.startsWith(`${vc}/`)) l.end('stopped');
    this.#owners.delete(vc);
    this.proxy.forget(vc);
    this.resolver.forget(vc);
  }

  /**
   * The message manager's handler table: messages between the hosts of threads (delivered here or relayed by the
   * owner, one hop), the owners' residual outboxes, placements and trims. The owner's side of messaging (locate,
   * globals) is owner/deployer-messaging.ts.
   */
  handlers(): HandlerTable {
    const deliverOrRelay = (msg: MessageOf<'msg-deliver' | 'msg-ack' | 'msg-nack' | 'msg-credit'>, from: Sender): void => {
      if (msg.dest !== this.selfId) {
        // Relay: only the owner forwards, and only for its own virtual computers, one hop; and only what the
        // thread that speaks sends from its current host (the owner's resolver is authoritative): the receiver
        // trusts what the owner relays.
        if (!this.#owns(msg.vc) || from.remoteId === msg.dest) return;
        const speaker = msg.t === 'msg-deliver' ? msg.from : msg.to;
        const p = this.resolver.current(msg.vc, speaker);
        if (p?.state !== 'running' || p.host !== from.remoteId || (msg.t === 'msg-deliver' && msg.origin !== from.remoteId)) {
          this.#log.debug(`not relaying '${msg.t}' of thread ${speaker} of ${msg.vc} from ${from.remoteId}: not its current host`);
          return;
        }
        this.#links.send(msg.dest, msg);
        return;
      }
      if (!this.#fromItsHost(msg, from.remoteId)) return;
      this.#handleLocal(msg);
    };
    return {
      'msg-deliver': { peer: deliverOrRelay },
      'msg-ack': { peer: deliverOrRelay },
      'msg-nack': { peer: deliverOrRelay },
      'msg-credit': { peer: deliverOrRelay },
      'msg-residual': {
        peer: (msg, from) => {
          if (!this.#owns(msg.vc)) return;
          if (!this.#hostOf(msg.vc, msg.from, msg.epoch, msg.token, from.remoteId)) {
            this.#log.warn(`dropped a residual outbox of thread ${msg.from} of ${msg.vc} from ${from.remoteId}: not the thread's current placement (or a wrong placement token)`);
            return;
          }
          this.proxy.adopt(
            msg.vc,
            msg.from,
            msg.entries.map((e) => ({ to: e.to, seq: e.seq, prev: e.prev, bytes: e.value })),
            msg.acked,
          );
        },
      },
      'thread-placed': {
        peer: (msg, from) => {
          if (this.#owners.get(msg.vc) !== from.remoteId) return;
          this.resolver.update(msg.vc, msg.thread, { epoch: msg.epoch, state: msg.state, ...(msg.host !== undefined ? { host: msg.host } : {}) });
        },
      },
      'msg-trim': {
        peer: (msg, from) => {
          if (this.#owners.get(msg.vc) !== from.remoteId && !this.#owns(msg.vc)) return;
          this.trim(msg.vc, msg.thread, msg.cursor);
        },
      },
    };
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
        const reply = await this.#links.request(t.owner, { t: 'globals-op', vc: t.vc, thread: t.thread, epoch: t.epoch, token: t.token, ...op }, GLOBALS_TIMEOUT_MS).catch((err: unknown) => {
          throw threadEffectOf(err);
        });
        return { value: reply.value, ok: reply.ok };
      }
    }
  }
}

/**
 * What a failed `globals-op` request becomes in the thread: the owner's ThreadEffectError with its code and its own
 * message; any other failure (another code, a timeout, a closed connection) ERR_GLOBALS naming it.
 */
function threadEffectOf(err: unknown): ThreadEffectError {
  if (err instanceof RemoteError && isThreadEffectCode(err.code)) return new ThreadEffectError(err.code, err.remoteMessage);
  if (err instanceof RemoteError) return new ThreadEffectError(ThreadEffectCode.GLOBALS, `${err.remoteMessage} (${err.code} from the owner)`);
  const code = (err as { code?: unknown }).code;
  return new ThreadEffectError(ThreadEffectCode.GLOBALS, `${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`);
}
