/**
 * One dispatch for every message a peer receives. Each component exports a handler table (message type -> its
 * handler for each sender role) and the PeerController registers the tables once; the role a message came from
 * picks the handler, so a type is authorized exactly for the roles its table names. Messages a peer sends to
 * itself (PeerLinks' local path) go through the same table.
 *
 * ```ts
 * export function workerHandlers(w: Worker): HandlerTable {
 *   return {
 *     enrol: { peer: (msg, from) => w.onEnrol(msg, from) },
 *     'vc-status': { peer: status, client: status },
 *   };
 * }
 * const unregister = pc.register(workerHandlers(worker));
 * ```
 */
import type { Connection } from '../protocol/connection.ts';
import type { MessageOf, MessageType, ReplyInput, Role } from '../protocol/messages.ts';

/** Who sent a message: a connection's other end, or this peer itself (local path). */
export interface Sender {
  readonly remoteId: string;
  readonly role: Role;
}

/** What a handler returns: a reply (its `re` is filled in) to answer a request, or nothing. */
export type HandlerResult = ReplyInput | void | Promise<ReplyInput | void>;

/**
 * A handler of a message from a peer. `conn` is the connection it came over, undefined when this peer sent it to
 * itself.
 */
export type PeerHandler<T extends MessageType> = (msg: MessageOf<T>, from: Sender, conn: Connection | undefined) => HandlerResult;

/** A handler of a message from an application's client connection. */
export type ClientHandler<T extends MessageType> = (msg: MessageOf<T>, client: Connection) => HandlerResult;

/** The handlers of one message type, by the role of its sender: a role without one may not send the type. */
export interface MessageHandlers<T extends MessageType> {
  peer?: PeerHandler<T>;
  client?: ClientHandler<T>;
}

/** A component's handlers, by message type. */
export type HandlerTable = { [T in MessageType]?: MessageHandlers<T> };
