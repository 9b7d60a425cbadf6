/**
 * The wire protocol's messages: one discriminated union {@link Message} of plain objects `{ t: '<type>', ... }`,
 * and one validator table {@link messageSchemas} that every decoded frame passes before anyone sees it.
 *
 * ## How to add a message type (the style)
 * A type is one entry in a schema table: its key is `t`, its value names each field and its checker from
 * `f` (schema.ts). The TypeScript type is derived from the schema. Requests carry `id: f.uint` and get
 * replies carrying `re: f.uint` (the request's id); `Connection.request` fills `id`, and replies returned
 * by a `PeerController.handle` handler get their `re` filled in.
 *
 * ```ts
 * // in virtual-computer-messages.ts
 * export const virtualComputerMessages = {
 *   'spawn': { id: f.uint, vc: f.string({ max: 64 }), fn: f.string(), args: f.bytes({ max: 16 << 20 }) },
 *   'spawn-reply': { re: f.uint, thread: f.uint },
 *   'thread-progress': { vc: f.string({ max: 64 }), thread: f.uint, seq: f.uint, value: f.unknown },
 * } satisfies MessageSchemas;
 * export type VirtualComputerMessage = MessagesOf<typeof virtualComputerMessages>;
 * ```
 * Checkers: `f.uint`, `f.int`, `f.number`, `f.boolean`, `f.string({ max })`, `f.peerId`, `f.url`,
 * `f.bytes({ length, max })`, `f.literal('a', 'b')`, `f.array(item, { max })`, `f.object(schema)`,
 * `f.record(value)`, `f.nullable(x)`, `f.optional(x)`, `f.unknown`. A failed check becomes a ProtocolError
 * `ERR_INVALID_FIELD` naming the type and the field, and closes the sending connection. Fields not named by
 * the schema are dropped on decode. Keep limits explicit on anything a peer can make large.
 *
 * ## Compatibility
 * `{ t: 'hello', v }` is fixed forever: it is how two versions learn that they differ. Any other change to a
 * message's meaning or required fields bumps PROTOCOL_VERSION (codec.ts).
 */
import { FieldError, ProtocolError, UnexpectedReplyError } from './errors.ts';
import { checkObject, describeValue, f, type Infer, type MessageSchemas, type MessagesOf } from './schema.ts';
import { virtualComputerMessages, type VirtualComputerMessage } from './virtual-computer-messages.ts';

export { f, type Infer, type MessageSchemas, type MessagesOf } from './schema.ts';

/** The two kinds of authenticated connection: another daemon, or an application's SDK. */
export type Role = 'peer' | 'client';

const proof = f.bytes({ length: 32 });
/** Raw Ed25519 (identity) or X25519 (ephemeral) public key. */
const publicKey = f.bytes({ length: 32 });
const signature = f.bytes({ length: 64 });

/** One member as the participation manager gossips it. */
export const memberRecordSchema = {
  id: f.peerId,
  url: f.url,
  /** Incarnation: only the member itself raises it, to refute a suspicion. */
  inc: f.uint,
  state: f.literal('alive', 'suspect', 'dead'),
  slots: f.uint,
  /** Free slots, as last advertised. */
  free: f.uint,
  /** Speed score measured at start (higher is faster). */
  speed: f.number,
  /** Metadata version: the member raises it when its free slots change, so newer metadata wins at equal incarnation. */
  mv: f.uint,
};
export type MemberRecord = Infer<typeof memberRecordSchema>;

/** A peer as `membership.peers()` and the `members` request report it. */
export const peerInfoSchema = {
  id: f.peerId,
  url: f.url,
  slots: f.uint,
  freeSlots: f.uint,
  speed: f.number,
  /** Epoch milliseconds of the last message received from the peer (0: never directly). */
  lastHeard: f.number,
  state: f.literal('alive', 'suspect', 'dead'),
  incarnation: f.uint,
};
export type PeerInfo = Infer<typeof peerInfoSchema>;

const memberRecords = f.array(f.object(memberRecordSchema), { max: 100_000 });
/** Piggybacked membership updates: few per message. */
const piggyback = f.optional(f.array(f.object(memberRecordSchema), { max: 64 }));

/** Handshake messages (handshake.ts): exchanged before authentication, refused after it. */
export const handshakeMessages = {
  /** Initiator → acceptor. `v` is checked before anything else, so it must stay the first thing we read. */
  /** `peerId` must be the id derived from `key` (identity.ts), else the hello is refused (4401). */
  hello: { v: f.uint, role: f.literal('peer', 'client'), peerId: f.peerId, key: publicKey, eph: publicKey, nonce: proof, url: f.optional(f.url) },
  /** Acceptor → initiator: its id (derived from `key`), identity key, ephemeral key and nonce. */
  challenge: { v: f.uint, peerId: f.peerId, key: publicKey, eph: publicKey, nonce: proof },
  /** Initiator → acceptor: the initiator's proof that it holds the swarm key, and its identity's signature of the transcript. */
  auth: { proof, sig: signature },
  /** Acceptor → initiator: the initiator is authenticated; here are the acceptor's own proof and signature. */
  welcome: { proof, sig: signature },
} satisfies MessageSchemas;

/** Messages of the daemon's network layer (connections, participation manager). */
export const coreMessages = {
  /** A failed request: the reply's `code` is stable (e.g. ERR_NO_HANDLER), `message` is for people. */
  error: { re: f.uint, code: f.string({ max: 128 }), message: f.string({ max: 16_384 }) },
  /** A new peer asks a member to let it in; the reply lists every member the seed knows. */
  join: { id: f.uint, member: f.object(memberRecordSchema) },
  'join-reply': { re: f.uint, members: memberRecords },
  /** SWIM direct probe; `g` carries piggybacked membership updates. */
  ping: { id: f.uint, g: piggyback },
  /** SWIM indirect probe: please ping `target` for me. Answered with `ack` (target answered) or `nack`. */
  'ping-req': { id: f.uint, target: f.peerId, g: piggyback },
  ack: { re: f.uint, g: piggyback },
  nack: { re: f.uint },
  /** Eager dissemination of membership changes (joins, suspicions, deaths, refutations). */
  gossip: { g: f.array(f.object(memberRecordSchema), { max: 1024 }) },
  /** Answered with `echo-reply` carrying the same value: a liveness and round-trip check for clients and peers. */
  echo: { id: f.uint, value: f.unknown },
  'echo-reply': { re: f.uint, value: f.unknown },
  /** Ask for the membership as this daemon sees it (peers and clients; used by `ppp2p status` and tests). */
  members: { id: f.uint },
  'members-reply': { re: f.uint, self: f.peerId, peers: f.array(f.object(peerInfoSchema), { max: 100_000 }) },
} satisfies MessageSchemas;

export type HandshakeMessage = MessagesOf<typeof handshakeMessages>;
export type CoreMessage = MessagesOf<typeof coreMessages>;
/** Every message of the protocol. */
export type Message = HandshakeMessage | CoreMessage | VirtualComputerMessage;
export type MessageType = Message['t'];
/** The message of type `T`. */
export type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;
/** Messages that expect a reply. */
export type RequestMessage = Extract<Message, { id: number }>;
/** Messages that answer a request. */
export type ReplyMessage = Extract<Message, { re: number }>;
/** The type of a message that expects a reply. */
export type RequestType = RequestMessage['t'];

/** Requests whose reply is not named `${t}-reply` (SWIM's probes). */
const irregularReplies = {
  ping: ['ack'],
  'ping-req': ['ack', 'nack'],
} as const satisfies Partial<Record<RequestType, readonly MessageType[]>>;

/** The type(s) of the message that answers a request of type `T`: `${T}-reply`, or ack/nack for the probes. */
export type ReplyTypeOf<T extends RequestType> = T extends keyof typeof irregularReplies
  ? (typeof irregularReplies)[T][number]
  : Extract<`${T}-reply`, MessageType>;
/** The message that answers a request of type `T` (an `error` reply rejects the request instead). */
export type ReplyOf<T extends RequestType> = MessageOf<ReplyTypeOf<T>>;

// Every request type has a reply type: a request added without one fails to compile here.
type RequestWithoutReply = { [T in RequestType]: [ReplyTypeOf<T>] extends [never] ? T : never }[RequestType];
const everyRequestHasAReply: [RequestWithoutReply] extends [never] ? true : RequestWithoutReply = true;
void everyRequestHasAReply;

/** The reply types a request of type `t` accepts. */
export function replyTypesOf(t: RequestType): readonly MessageType[] {
  return (irregularReplies as Partial<Record<RequestType, readonly MessageType[]>>)[t] ?? [`${t}-reply` as MessageType];
}

/**
 * The one check that a reply answers its request: returns `reply` typed as the request's reply, or throws
 * UnexpectedReplyError (code ERR_UNEXPECTED_REPLY). `Connection.request` and the daemon's path to itself both use it.
 */
export function checkReply<T extends RequestType>(request: T, reply: Message, where: string): ReplyOf<T> {
  const expected = replyTypesOf(request);
  if (!expected.includes(reply.t)) throw new UnexpectedReplyError(request, reply.t, expected, where);
  return reply as ReplyOf<T>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request as `Connection.request` takes it: without `id` (the connection assigns one). */
export type RequestInput = DistributiveOmit<RequestMessage, 'id'>;
/** The request of type `T` as `Connection.request` takes it. */
export type RequestInputOf<T extends RequestType> = Extract<RequestInput, { t: T }>;
/** A reply as a handler returns it: `re` is filled in by the dispatcher. */
export type ReplyInput = DistributiveOmit<ReplyMessage, 're'> & { re?: number };

/** Every message type's schema: the validator table the decoder uses. */
export const messageSchemas: MessageSchemas = Object.freeze(
  Object.assign(Object.create(null) as MessageSchemas, handshakeMessages, coreMessages, virtualComputerMessages),
);

for (const t of Object.keys(virtualComputerMessages)) {
  if (Object.hasOwn(handshakeMessages, t) || Object.hasOwn(coreMessages, t)) {
    throw new Error(`virtual-computer message type '${t}' clashes with a core message type`);
  }
}

export function isHandshakeMessage(msg: Message): msg is HandshakeMessage {
  return Object.hasOwn(handshakeMessages, msg.t);
}

/**
 * Checks a decoded msgpack value against the validator table and returns the message (a fresh object holding
 * only the schema's fields). Throws ProtocolError ERR_NOT_A_MESSAGE, ERR_UNKNOWN_TYPE or ERR_INVALID_FIELD.
 */
export function validateMessage(value: unknown): Message {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ProtocolError('ERR_NOT_A_MESSAGE', `frame holds ${describeValue(value)}, not a message map`);
  }
  const t = (value as { t?: unknown }).t;
  if (typeof t !== 'string') {
    throw new ProtocolError('ERR_NOT_A_MESSAGE', `message has no string type field 't' (got ${describeValue(t)})`);
  }
  const schema = messageSchemas[t];
  if (schema === undefined) {
    throw new ProtocolError('ERR_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(t.slice(0, 64))}`);
  }
  try {
    return { t, ...checkObject(schema, value, '') } as Message;
  } catch (err) {
    if (err instanceof FieldError) throw new ProtocolError('ERR_INVALID_FIELD', `invalid '${t}' message: ${err.message}`);
    throw err;
  }
}
