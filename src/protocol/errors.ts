/**
 * Errors of the Peer Controller's network layer (protocol, handshake, connections, participation).
 * Each class says in one line when it is thrown; each has a stable `code` that tests and callers match on.
 * Errors caused by a remote side are logged and close that connection; they never stop the daemon.
 */

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
  /** The other side does not hold the swarm key (its proof did not verify). */
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

/** Stable codes of {@link ProtocolError}. */
export type ProtocolErrorCode =
  /** Bytes that are not one complete msgpack value (also: trailing bytes after it). */
  | 'ERR_FRAME_GARBAGE'
  /** Bytes that end in the middle of a msgpack value. */
  | 'ERR_FRAME_TRUNCATED'
  /** A frame larger than the maximum frame size. */
  | 'ERR_FRAME_TOO_LARGE'
  /** A text frame; the protocol only uses binary frames. */
  | 'ERR_FRAME_TEXT'
  /** A msgpack value that is not a map with a string `t`. */
  | 'ERR_NOT_A_MESSAGE'
  /** A message whose `t` names no known message type. */
  | 'ERR_UNKNOWN_TYPE'
  /** A known message type with a missing or mistyped field. */
  | 'ERR_INVALID_FIELD'
  /** A valid message at the wrong moment (a handshake message after authentication, or anything else before). */
  | 'ERR_UNEXPECTED_MESSAGE'
  /** A valid message that the sender's role may not send. */
  | 'ERR_FORBIDDEN_FOR_ROLE';

/** A frame received from the wire is not an acceptable message; the connection that sent it is closed with `closeCode`. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly closeCode: number = code === 'ERR_FRAME_TOO_LARGE'
      ? CloseCode.FRAME_TOO_LARGE
      : code === 'ERR_FORBIDDEN_FOR_ROLE'
        ? CloseCode.FORBIDDEN
        : CloseCode.PROTOCOL_ERROR,
  ) {
    super(message);
  }
}

export type HandshakeErrorCode =
  /** The other side's proof did not verify, or it refused ours (close code 4401): the swarm keys differ. */
  | 'ERR_AUTH_FAILED'
  /** The two sides speak different protocol versions (close code 4426). */
  | 'ERR_VERSION_MISMATCH'
  /** The handshake did not complete within the handshake timeout. */
  | 'ERR_HANDSHAKE_TIMEOUT'
  /** The socket closed, failed to open, or the other side broke the handshake sequence. */
  | 'ERR_HANDSHAKE_FAILED';

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

/** `send` or `request` on a connection that is closed, or a request still pending when its connection closed. */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
  readonly code = 'ERR_CONNECTION_CLOSED';
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
  readonly code = 'ERR_REQUEST_TIMEOUT';
}

/** The other side answered a request with an `error` message; `code` is the remote error's code. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A Peer Controller method was called in a state that does not allow it (e.g. after `stop()`). */
export class PeerControllerStateError extends Error {
  override name = 'PeerControllerStateError';
  readonly code = 'ERR_PEER_CONTROLLER_STATE';
}

/** `connectTo(peerId)` named a peer that the membership does not know, or knows as dead. */
export class UnknownPeerError extends Error {
  override name = 'UnknownPeerError';
  readonly code = 'ERR_UNKNOWN_PEER';
}

/** An option passed to `PeerController.start`, `connect` or a CLI flag is invalid; the message names it. */
export class OptionError extends Error {
  override name = 'OptionError';
  readonly code = 'ERR_INVALID_OPTION';
}

/** A request named a virtual computer this controller does not deploy for the sender. Code ERR_UNKNOWN_VC. */
export class UnknownVirtualComputerError extends Error {
  override name = 'UnknownVirtualComputerError';
  readonly code = 'ERR_UNKNOWN_VC';
}
