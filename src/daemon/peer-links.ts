/**
 * Peer links: how the daemon's components reach other peers by id. Messages go in order per peer over the
 * PeerController's cached connections; messages to this peer itself are handed to the local handler without a
 * socket, so any peer can be a worker of its own virtual computers.
 */
import type { Connection } from '../protocol/connection.ts';
import type { Logger } from '../protocol/log.ts';
import { ErrorCode, errorReplyOf, RemoteError } from '../protocol/errors.ts';
import { checkReply, type Message, type ReplyInput, type ReplyOf, type RequestInputOf, type RequestType } from '../protocol/messages.ts';
import type { Sender } from './message-handlers.ts';
import type { PeerController } from './peer-controller.ts';

/** How long sends to a peer that refused a connection are dropped before it is dialled again. */
const REDIAL_AFTER_FAILURE_MS = 1000;

/**
 * Messages to other peers by id, in order per peer, over the PeerController's cached connections; messages
 * to this peer itself are handed to `local` without a socket.
 */
export class PeerLinks {
  readonly #peer: PeerController;
  readonly #log: Logger;
  readonly #open = new Map<string, Connection>();
  /** Sends waiting for a connection, per peer: later sends queue behind them to keep the order. */
  readonly #waiting = new Map<string, Message[]>();
  /** When a connection to a peer last failed: sends right after it are dropped without dialling again. */
  readonly #failedAt = new Map<string, number>();

  constructor(peer: PeerController, log: Logger) {
    this.#peer = peer;
    this.#log = log;
  }

  /** This peer as the sender of what it sends itself. */
  get #self(): Sender {
    return { remoteId: this.#peer.id, role: 'peer' };
  }

  get selfId(): string {
    return this.#peer.id;
  }

  /** Sends without waiting for anything; a peer that cannot be reached loses the message (logged). */
  send(peerId: string, msg: Message): void {
    if (peerId === this.#peer.id) {
      queueMicrotask(() => this.#runLocal(msg));
      return;
    }
    const queue = this.#waiting.get(peerId);
    if (queue !== undefined) {
      queue.push(msg);
      return;
    }
    const conn = this.#open.get(peerId);
    if (conn?.isOpen === true) {
      try {
        conn.send(msg);
        return;
      } catch (err) {
        this.#log.debug(`send '${msg.t}' to ${peerId} failed: ${(err as Error).message}; reconnecting`);
      }
    }
    // A suspected peer that just refused a connection is most likely dead: do not dial it again for every
    // message sent meanwhile (a peer still believed alive is dialled again: its messages must not be lost).
    const failedAt = this.#failedAt.get(peerId);
    if (failedAt !== undefined && Date.now() - failedAt < REDIAL_AFTER_FAILURE_MS && this.#peer.membership.peer(peerId)?.state !== 'alive') {
      this.#log.debug(`'${msg.t}' to ${peerId} dropped: it could not be reached ${Date.now() - failedAt} ms ago`);
      return;
    }
    this.#waiting.set(peerId, [msg]);
    this.connection(peerId).then(
      (c) => {
        const pending = this.#waiting.get(peerId) ?? [];
        this.#waiting.delete(peerId);
        this.#failedAt.delete(peerId);
        for (const [i, m] of pending.entries()) {
          try {
            c.send(m);
          } catch (err) {
            // The connection closed between opening and this turn (the peer stopped, or dropped us): what is left is
            // lost like any send to an unreachable peer; its senders' own retries and leases cover it.
            this.#log.warn(`cannot send to peer ${peerId}: ${(err as Error).message}; ${pending.length - i} message(s) dropped`);
            return;
          }
        }
      },
      (err: unknown) => {
        const lost = this.#waiting.get(peerId) ?? [];
        this.#waiting.delete(peerId);
        this.#failedAt.set(peerId, Date.now());
        this.#log.warn(`cannot reach peer ${peerId}: ${(err as Error).message}; ${lost.length} message(s) dropped`);
      },
    );
  }

  /**
   * Sends a request and resolves with its reply, typed as the request's reply. Fails as `Connection.request`
   * does, on the path to this peer itself too: a handler's error becomes a RemoteError carrying its code, an
   * answer of another type an UnexpectedReplyError.
   */
  async request<T extends RequestType>(peerId: string, msg: RequestInputOf<T> & { t: T }, timeoutMs?: number): Promise<ReplyOf<T>> {
    if (peerId === this.#peer.id) {
      let reply: ReplyInput | void;
      try {
        reply = await this.#peer.handleLocal({ ...msg, id: 0 } as Message, this.#self);
      } catch (err) {
        const { code, message } = errorReplyOf(err);
        throw new RemoteError({ code, peer: peerId, request: msg.t, remoteMessage: message, where: `this peer (${peerId})` });
      }
      if (reply === undefined) throw new RemoteError({ code: ErrorCode.NO_HANDLER, peer: peerId, request: msg.t, remoteMessage: `peer ${peerId} has no handler for '${msg.t}'`, where: `this peer (${peerId})` });
      return checkReply(msg.t, { ...reply, re: 0 } as Message, `this peer (${peerId})`);
    }
    const conn = await this.connection(peerId);
    return conn.request<T>(msg, timeoutMs);
  }

  /** An open connection to a peer (cached). */
  async connection(peerId: string, timeoutMs = 5000): Promise<Connection> {
    const cached = this.#open.get(peerId);
    if (cached?.isOpen === true) return cached;
    const conn = await this.#peer.connectTo(peerId, timeoutMs);
    this.#open.set(peerId, conn);
    conn.onClose(() => {
      if (this.#open.get(peerId) === conn) this.#open.delete(peerId);
    });
    return conn;
  }

  #runLocal(msg: Message): void {
    try {
      const r = this.#peer.handleLocal(msg, this.#self);
      if (r instanceof Promise) r.catch((err: unknown) => this.#log.error(`local '${msg.t}' failed: ${String(err)}`));
    } catch (err) {
      this.#log.error(`local '${msg.t}' failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
}
