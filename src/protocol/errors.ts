/**
 * The error model of ppp2p, shared by every layer that speaks the protocol (daemon and client import it).
 *
 * - {@link ErrorCode} is the registry: every code this package throws or sends, each with one line saying when.
 * - Each code that crosses the wire has a class here (or belongs to a small family keyed by code, like
 *   {@link ProtocolError}); a few codes are data only: they travel as the `code` of an `error` reply or an
 *   `exec-error`, and nothing throws a class of their own ({@link DATA_ONLY_CODES} says why for each).
 * - A request that failed on the other side rejects with a {@link RemoteError} carrying the remote's code, the
 *   peer that answered, the request type and the remote's own message; {@link errorFromRemote} turns a known code
 *   back into its class where an error reaches the application.
 * - Callers compare codes through the registry: `err instanceof RemoteError && err.code === ErrorCode.ENROLMENT`,
 *   never by matching names or messages.
 *
 * Errors caused by a remote side are logged and close that connection (or fail that request); they never stop
 * the daemon. Errors raised inside a thread by the runtime are in src/runtime/errors.ts (the runtime imports
 * nothing of ours); the codes of its ThreadEffectError that cross the wire are listed here as data.
 */

/** The registry of error codes: each says in one line when it is thrown (or sent). */
export const ErrorCode = {
  // ── a frame that is not an acceptable message: ProtocolError, the connection that sent it is closed ──
  /** Bytes that are not one complete msgpack value (also: trailing bytes after it). */
  FRAME_GARBAGE: 'ERR_FRAME_GARBAGE',
  /** Bytes that end in the middle of a msgpack value. */
  FRAME_TRUNCATED: 'ERR_FRAME_TRUNCATED',
  /** A frame larger than the maximum frame size (received, or about to be sent). */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** A text frame; the protocol only uses binary frames. */
  FRAME_TEXT: 'ERR_FRAME_TEXT',
  /** A msgpack value that is not a map with a string `t`. */
  NOT_A_MESSAGE: 'ERR_NOT_A_MESSAGE',
  /** A message whose `t` names no known message type. */
  UNKNOWN_TYPE: 'ERR_UNKNOWN_TYPE',
  /** A known message type with a missing or mistyped field. */
  INVALID_FIELD: 'ERR_INVALID_FIELD',
  /** A valid message at the wrong moment (a handshake message after authentication, or anything else before). */
  UNEXPECTED_MESSAGE: 'ERR_UNEXPECTED_MESSAGE',
  /** A valid message that the sender's role may not send. */
  FORBIDDEN_FOR_ROLE: 'ERR_FORBIDDEN_FOR_ROLE',
  /** An encrypted frame that failed authentication: tampered, replayed, reordered or truncated (secure-channel.ts). */
  FRAME_AUTH: 'ERR_FRAME_AUTH',

  // ── authentication of a new connection: HandshakeError ──
  /** The other side's proof did not verify, or it refused ours (close code 4401): the swarm keys differ. */
  AUTH_FAILED: 'ERR_AUTH_FAILED',
  /** The two sides speak different protocol versions (close code 4426). */
  VERSION_MISMATCH: 'ERR_VERSION_MISMATCH',
  /** The handshake did not complete within the handshake timeout. */
  HANDSHAKE_TIMEOUT: 'ERR_HANDSHAKE_TIMEOUT',
  /** The socket closed, failed to open, or the other side broke the handshake sequence. */
  HANDSHAKE_FAILED: 'ERR_HANDSHAKE_FAILED',

  // ── a request, on the side that sent it ──
  /** `send` or `request` on a closed connection, or a request still pending when its connection closed. */
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  /** A request got no reply within its timeout. */
  REQUEST_TIMEOUT: 'ERR_REQUEST_TIMEOUT',
  /** A request was answered with a message that is not its reply type (e.g. `members` answered by `echo-reply`). */
  UNEXPECTED_REPLY: 'ERR_UNEXPECTED_REPLY',

  // ── local misuse of the daemon's API ──
  /** A Peer Controller method was called in a state that does not allow it (e.g. after `stop()`). */
  PEER_CONTROLLER_STATE: 'ERR_PEER_CONTROLLER_STATE',
  /** `connectTo(peerId)` named a peer that the membership does not know, or knows as dead. */
  UNKNOWN_PEER: 'ERR_UNKNOWN_PEER',
  /** An option of `PeerController.start`, `connect`, a CLI flag or a `vc-create` request is invalid. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',

  // ── the `code` of an `error` reply: a request failed in its handler ──
  /** The peer has no handler for the request's type (data only). */
  NO_HANDLER: 'ERR_NO_HANDLER',
  /** The handler threw an error that carries no code of its own (data only). */
  HANDLER_FAILED: 'ERR_HANDLER_FAILED',
  /** A valid request from a sender that may not make it (e.g. a checkpoint copy asked for by a non-owner). */
  FORBIDDEN: 'ERR_FORBIDDEN',
  /** A request named a virtual computer this controller does not deploy for the sender (or does not own). */
  UNKNOWN_VC: 'ERR_UNKNOWN_VC',
  /** `vc-create` could not enrol `minWorkers` workers, or its virtual computer closed while enrolling. */
  ENROLMENT: 'ERR_ENROLMENT',
  /** `assembly-fetch` named an assembly that the peer asked does not hold. */
  NO_ASSEMBLY: 'ERR_NO_ASSEMBLY',
  /** Assembly bytes do not hash to the name they came with, or the name is not an assembly hash. */
  ASSEMBLY_HASH: 'ERR_ASSEMBLY_HASH',
  /** A checkpoint copy was refused: the holder's checkpoint store is full. */
  CHECKPOINT_STORE_FULL: 'ERR_CHECKPOINT_STORE_FULL',
  /** A checkpoint fetch or replication named a copy that the holder does not hold. */
  CHECKPOINT_NOT_HELD: 'ERR_CHECKPOINT_NOT_HELD',
  /** A checkpoint copy arrived for an owner declared dead: its virtual computer has ended. */
  OWNER_GONE: 'ERR_OWNER_GONE',
  /** A checkpoint copy named another owner than the one its virtual computer's copies belong to. */
  CHECKPOINT_OWNER: 'ERR_CHECKPOINT_OWNER',

  // ── the `code` of an `exec-error` that is not the thread's own failure (worker → deployer) ──
  /** The worker is not enrolled in the placement's virtual computer (it thought the owner dead): enrol another (data only). */
  NOT_ENROLLED: 'ERR_NOT_ENROLLED',
  /** No holder could send the checkpoint a placement was to resume from: resume it from older state (data only). */
  CHECKPOINT_UNAVAILABLE: 'ERR_CHECKPOINT_UNAVAILABLE',
  /** The executor died under the thread (killed, crashed): retry from the last checkpoint, up to maxErrors (data only). */
  EXECUTOR_CRASHED: 'ERR_EXECUTOR_CRASHED',
  /** A limit of the host stopped the thread (heap, memory, CPU, wall time): final, `limit` names it. */
  RESOURCE_LIMIT: 'ERR_RESOURCE_LIMIT',
  /** The thread took its executors down `maxErrors` times: final (deployer → application). */
  THREAD_CRASHED: 'ERR_THREAD_CRASHED',

  // ── codes of the runtime's ThreadEffectError that cross the wire (`globals-op` replies); data only here ──
  /** A `globals.update` lock was lost: its lease expired before the update finished. */
  LEASE_EXPIRED: 'ERR_LEASE_EXPIRED',
  /** A globals operation came from a placement of a thread that is no longer its current one. */
  STALE_EPOCH: 'ERR_STALE_EPOCH',
  /** A thread's globals operation on a variable its own `globals.update` holds locked. */
  LOCK_REENTRY: 'ERR_LOCK_REENTRY',
  /** A globals operation on a virtual computer that is closed. */
  VC_CLOSED: 'ERR_VC_CLOSED',
  /** A globals operation of a thread that has ended (its waiters are rejected). */
  THREAD_ENDED: 'ERR_THREAD_ENDED',
} as const;
/** One code of the registry. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Whether `code` (e.g. read from the wire) is a code of the registry. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && knownCodes.has(code);
}

const THREAD_EFFECT = "thrown as the runtime's ThreadEffectError (src/runtime/errors.ts), which the protocol cannot import";

/**
 * Codes that no class of their own carries, and why: they only travel as data, as the `code` of an `error`
 * reply or an `exec-error`, and are compared through the registry where they arrive.
 */
export const DATA_ONLY_CODES: Readonly<Partial<Record<ErrorCode, string>>> = {
  [ErrorCode.NO_HANDLER]: 'written by the dispatcher into an error reply; no handler ran to throw it',
  [ErrorCode.HANDLER_FAILED]: 'the code given to a handler error that has none of its own',
  [ErrorCode.NOT_ENROLLED]: 'an exec-error the deployer answers by enrolling another worker; the thread did not fail',
  [ErrorCode.CHECKPOINT_UNAVAILABLE]: 'an exec-error the deployer answers by resuming from older state; the thread did not fail',
  [ErrorCode.EXECUTOR_CRASHED]: 'an exec-error the deployer answers by resuming the thread again, up to its maxErrors',
  [ErrorCode.RESOURCE_LIMIT]: "thrown as the runtime's ResourceLimitError (src/runtime/errors.ts), which the protocol cannot import",
  [ErrorCode.THREAD_CRASHED]: "thrown as the runtime's ThreadCrashedError (src/runtime/errors.ts), which the protocol cannot import",
  [ErrorCode.LEASE_EXPIRED]: THREAD_EFFECT,
  [ErrorCode.STALE_EPOCH]: THREAD_EFFECT,
  [ErrorCode.LOCK_REENTRY]: THREAD_EFFECT,
  [ErrorCode.VC_CLOSED]: THREAD_EFFECT,
  [ErrorCode.THREAD_ENDED]: THREAD_EFFECT,
};

/**
 * What an error becomes in an `error` reply: its own code when it has a string one (ours, or e.g. a Node
 * errno code), else ERR_HANDLER_FAILED; and its message.
 */
export function errorReplyOf(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  return {
    code: typeof e?.code === 'string' ? e.code : ErrorCode.HANDLER_FAILED,
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

/**
 * WebSocket close codes this daemon sends. 1000-1015 are the RFC 6455 codes; 4000-4999 are ours and
 * follow HTTP status numbers where one fits (4401 unauthorized, 4426 upgrade required, ...).
 */
export const CloseCode = {
  /** A clean close asked for by one side. */
  NORMAL: 1000,
  /** The daemon is stopping. */
  GOING_AWAY: 1001,
  /** A frame was larger than the maximum frame size (sent by ws itself, and by us for handshake frames). */
  FRAME_TOO_LARGE: 1009,
  /** A frame was not a valid message: garbage, truncated, unknown type, missing or mistyped field. */
  PROTOCOL_ERROR: 4400,
  /** The other side does not hold the swarm key (its proof did not verify), or its identity signature or claimed id did not. */
  AUTH_FAILED: 4401,
  /** A valid message that this role may not send (e.g. membership gossip from an application's client). */
  FORBIDDEN: 4403,
  /** The handshake did not complete in time. */
  HANDSHAKE_TIMEOUT: 4408,
  /** The participation manager declared the remote peer dead; it has to refute to come back. */
  DECLARED_DEAD: 4410,
  /** The two sides speak different protocol versions; the reason names both. */
  VERSION_MISMATCH: 4426,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes of the {@link ProtocolError} family. */
export type ProtocolErrorCode =
  | typeof ErrorCode.FRAME_GARBAGE
  | typeof ErrorCode.FRAME_TRUNCATED
  | typeof ErrorCode.FRAME_TOO_LARGE
  | typeof ErrorCode.FRAME_TEXT
  | typeof ErrorCode.NOT_A_MESSAGE
  | typeof ErrorCode.UNKNOWN_TYPE
  | typeof ErrorCode.INVALID_FIELD
  | typeof ErrorCode.UNEXPECTED_MESSAGE
  | typeof ErrorCode.FORBIDDEN_FOR_ROLE
  | typeof ErrorCode.FRAME_AUTH;

/** A frame received from the wire is not an acceptable message; the connection that sent it is closed with `closeCode`. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly closeCode: number = code === ErrorCode.FRAME_TOO_LARGE
      ? CloseCode.FRAME_TOO_LARGE
      : code === ErrorCode.FORBIDDEN_FOR_ROLE
        ? CloseCode.FORBIDDEN
        : CloseCode.PROTOCOL_ERROR,
  ) {
    super(message);
  }
}

/** Codes of the {@link HandshakeError} family. */
export type HandshakeErrorCode =
  | typeof ErrorCode.AUTH_FAILED
  | typeof ErrorCode.VERSION_MISMATCH
  | typeof ErrorCode.HANDSHAKE_TIMEOUT
  | typeof ErrorCode.HANDSHAKE_FAILED;

/** Authentication of a new connection did not succeed; thrown by `connect()` and logged by the accepting daemon. */
export class HandshakeError extends Error {
  override name = 'HandshakeError';
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
    /** The WebSocket close code seen or sent, when there was one. */
    readonly closeCode?: number,
    /** The close reason seen or sent, when there was one. */
    readonly closeReason?: string,
    /** Which side ended the handshake: 'us' (we refused) or 'them' (the other side closed or refused). */
    public closedBy?: 'us' | 'them',
  ) {
    super(message);
  }
}

/** Thrown by a schema checker; the decoder turns it into a ProtocolError ERR_INVALID_FIELD naming the message type. */
export class FieldError extends Error {
  override name = 'FieldError';
  constructor(
    /** Where in the message: `members[3].url`. */
    readonly at: string,
    /** What was expected, in words: `a non-negative integer`. */
    readonly expected: string,
    /** What was found, in words: `a string`, `nothing`. */
    readonly found: string,
  ) {
    super(`${at}: expected ${expected}, got ${found}`);
  }
}

/** `send` or `request` on a connection that is closed, or a request still pending when its connection closed. */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
  readonly code = ErrorCode.CONNECTION_CLOSED;
  constructor(
    message: string,
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(message);
  }
}

/** A `request` got no reply within its timeout. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly code = ErrorCode.REQUEST_TIMEOUT;
}

/** What a {@link RemoteError} knows about the failed request. */
export interface RemoteErrorInit {
  /** The remote error's code: one of {@link ErrorCode}, or a code this version does not know (kept as is). */
  code: string;
  /** The id of the peer (or client) that answered. */
  peer: string;
  /** The type of the request that failed (`'vc-create'`). */
  request: string;
  /** The remote's own message, unformatted. */
  remoteMessage: string;
  /** Who answered, for the formatted message. @default `peer ${peer}` */
  where?: string;
}

/**
 * A request was answered with an `error` message (or, on a peer's path to itself, its handler threw). `message`
 * is formatted for people (`'vc-create' failed on client app-1 (127.0.0.1:7420): ...`); read the fields, not it.
 */
export class RemoteError extends Error {
  override name = 'RemoteError';
  /** The remote error's code: one of {@link ErrorCode}, or a code this version does not know (kept as is). */
  readonly code: string;
  /** The id of the peer that answered. */
  readonly peer: string;
  /** The type of the request that failed. */
  readonly request: string;
  /** The remote's own message, unformatted. */
  readonly remoteMessage: string;
  constructor(init: RemoteErrorInit) {
    super(`'${init.request}' failed on ${init.where ?? `peer ${init.peer}`}: ${init.remoteMessage}`);
    this.code = init.code;
    this.peer = init.peer;
    this.request = init.request;
    this.remoteMessage = init.remoteMessage;
  }
}

/** A request was answered with a message that is not its reply type; the request fails, the connection stays. */
export class UnexpectedReplyError extends Error {
  override name = 'UnexpectedReplyError';
  readonly code = ErrorCode.UNEXPECTED_REPLY;
  constructor(
    /** The type of the request. */
    readonly request: string,
    /** The type of the message that answered it. */
    readonly reply: string,
    /** The reply types the request expects. */
    readonly expected: readonly string[],
    /** Who answered, in words. */
    where: string,
  ) {
    super(`'${request}' was answered by '${reply}' from ${where}; expected ${expected.map((t) => `'${t}'`).join(' or ')}`);
  }
}

/** A Peer Controller method was called in a state that does not allow it (e.g. after `stop()`). */
export class PeerControllerStateError extends Error {
  override name = 'PeerControllerStateError';
  readonly code = ErrorCode.PEER_CONTROLLER_STATE;
}

/** `connectTo(peerId)` named a peer that the membership does not know, or knows as dead. */
export class UnknownPeerError extends Error {
  override name = 'UnknownPeerError';
  readonly code = ErrorCode.UNKNOWN_PEER;
}

/** An option passed to `PeerController.start`, `connect`, a CLI flag or a `vc-create` request is invalid; the message names it. */
export class OptionError extends Error {
  override name = 'OptionError';
  readonly code = ErrorCode.INVALID_OPTION;
}

/** A valid request from a sender that may not make it (e.g. a checkpoint copy asked for by a peer that is not the owner). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  readonly code = ErrorCode.FORBIDDEN;
}

/** A request named a virtual computer this controller does not deploy for the sender (or a peer that does not own it). */
export class UnknownVirtualComputerError extends Error {
  override name = 'UnknownVirtualComputerError';
  readonly code = ErrorCode.UNKNOWN_VC;
}

/** A virtual computer could not start with `minWorkers` workers; the message says how many peers were found and why the others refused. */
export class EnrolmentError extends Error {
  override name = 'EnrolmentError';
  readonly code = ErrorCode.ENROLMENT;
}

/** `assembly-fetch` named an assembly that this peer does not hold. */
export class NoAssemblyError extends Error {
  override name = 'NoAssemblyError';
  readonly code = ErrorCode.NO_ASSEMBLY;
}

/** Bytes offered as an assembly do not hash to the name they came with (or the name is not an assembly hash). */
export class AssemblyHashError extends Error {
  override name = 'AssemblyHashError';
  readonly code = ErrorCode.ASSEMBLY_HASH;
}

/** A checkpoint copy was refused: the store is full. */
export class CheckpointStoreFullError extends Error {
  override name = 'CheckpointStoreFullError';
  readonly code = ErrorCode.CHECKPOINT_STORE_FULL;
}

/** A checkpoint fetch or replication named a copy this store does not hold. */
export class CheckpointNotHeldError extends Error {
  override name = 'CheckpointNotHeldError';
  readonly code = ErrorCode.CHECKPOINT_NOT_HELD;
}

/** A checkpoint copy arrived for an owner declared dead: its virtual computer has ended. */
export class CheckpointOwnerGoneError extends Error {
  override name = 'CheckpointOwnerGoneError';
  readonly code = ErrorCode.OWNER_GONE;
}

/** A checkpoint copy named another owner than the one the virtual computer's copies belong to. */
export class CheckpointOwnerError extends Error {
  override name = 'CheckpointOwnerError';
  readonly code = ErrorCode.CHECKPOINT_OWNER;
}

/** A class of this file that takes just a message (and error options): what {@link errorFromRemote} can build. */
type MessageErrorClass = new (message: string, options?: ErrorOptions) => Error & { readonly code: ErrorCode };

/**
 * The class of each code that is thrown as one (families and data-only codes are absent). The unit test checks
 * that every code of the registry is either here, in a family, or in {@link DATA_ONLY_CODES}.
 */
export const ERROR_CLASSES: Readonly<Partial<Record<ErrorCode, MessageErrorClass>>> = {
  [ErrorCode.REQUEST_TIMEOUT]: RequestTimeoutError,
  [ErrorCode.PEER_CONTROLLER_STATE]: PeerControllerStateError,
  [ErrorCode.UNKNOWN_PEER]: UnknownPeerError,
  [ErrorCode.INVALID_OPTION]: OptionError,
  [ErrorCode.FORBIDDEN]: ForbiddenError,
  [ErrorCode.UNKNOWN_VC]: UnknownVirtualComputerError,
  [ErrorCode.ENROLMENT]: EnrolmentError,
  [ErrorCode.NO_ASSEMBLY]: NoAssemblyError,
  [ErrorCode.ASSEMBLY_HASH]: AssemblyHashError,
  [ErrorCode.CHECKPOINT_STORE_FULL]: CheckpointStoreFullError,
  [ErrorCode.CHECKPOINT_NOT_HELD]: CheckpointNotHeldError,
  [ErrorCode.OWNER_GONE]: CheckpointOwnerGoneError,
  [ErrorCode.CHECKPOINT_OWNER]: CheckpointOwnerError,
};

/**
 * The classes whose constructor takes more than a message, each carrying a family of codes (or one code with
 * extra fields). They are never rebuilt from a remote error: they describe this side's connection.
 */
export const ERROR_FAMILIES = {
  ProtocolError: [
    ErrorCode.FRAME_GARBAGE,
    ErrorCode.FRAME_TRUNCATED,
    ErrorCode.FRAME_TOO_LARGE,
    ErrorCode.FRAME_TEXT,
    ErrorCode.NOT_A_MESSAGE,
    ErrorCode.UNKNOWN_TYPE,
    ErrorCode.INVALID_FIELD,
    ErrorCode.UNEXPECTED_MESSAGE,
    ErrorCode.FORBIDDEN_FOR_ROLE,
    ErrorCode.FRAME_AUTH,
  ],
  HandshakeError: [ErrorCode.AUTH_FAILED, ErrorCode.VERSION_MISMATCH, ErrorCode.HANDSHAKE_TIMEOUT, ErrorCode.HANDSHAKE_FAILED],
  ConnectionClosedError: [ErrorCode.CONNECTION_CLOSED],
  UnexpectedReplyError: [ErrorCode.UNEXPECTED_REPLY],
} as const satisfies Record<string, readonly ErrorCode[]>;

/** Codes that describe this side's own request or API call: a remote's copy of them stays a RemoteError. */
const LOCAL_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCode.REQUEST_TIMEOUT, ErrorCode.PEER_CONTROLLER_STATE, ErrorCode.UNKNOWN_PEER]);

/**
 * The one mapping from a failed request to what an API caller sees: a {@link RemoteError} whose code has a class
 * of its own becomes that class (codes of this side's own calls excepted), with the remote's message and the RemoteError as `cause` (ERR_ENROLMENT ->
 * EnrolmentError). Anything else is returned unchanged.
 */
export function errorFromRemote(err: unknown): unknown {
  if (!(err instanceof RemoteError) || !isErrorCode(err.code) || LOCAL_CODES.has(err.code)) return err;
  const cls = ERROR_CLASSES[err.code];
  return cls === undefined ? err : new cls(err.remoteMessage, { cause: err });
}
