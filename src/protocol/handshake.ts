/**
 * The handshake: versioned, mutual challenge-response authentication with the swarm key.
 *
 * ```text
 * initiator                                         acceptor
 *   hello     { v, role, peerId, nonce: nI, url? }  →       version checked first: a mismatch closes 4426
 *             ←  challenge { v, peerId, nonce: nA }
 *   auth      { proof: HMAC(key, T('initiator')) }  →       verify, else close 4401 + one log line
 *             ←  welcome { proof: HMAC(key, T('acceptor')) }
 *   verify, else close 4401
 * ```
 * The initiator proves first, so the daemon never hands a proof of any kind to a side that has not shown it
 * holds the key, and a client with a wrong key sees the daemon's refusal (4401).
 * T(prover) is a length-prefixed transcript of: a domain label, the protocol version, the prover's side, the
 * initiator's role and id, the acceptor's id, both nonces and, on TLS, the TLS exporter value of this very
 * session (channel binding: a man in the middle terminating TLS on both sides sees two different values, so
 * proofs cannot be relayed). Each side proves with fresh nonces from the other, so a recorded proof is useless;
 * the side label keeps a proof from being reflected back. The key never crosses the wire; proofs are compared
 * in constant time. Before `welcome` nothing is dispatched: the caller only gets a connection on success.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, HandshakeError, ProtocolError } from './errors.ts';
import { decodeValue, encodeFrame, MAX_HANDSHAKE_FRAME_BYTES, PROTOCOL_VERSION } from './codec.ts';
import { validateMessage, type Message, type Role } from './messages.ts';

/** The swarm key is 32 random bytes (`ppp2p keygen`). */
export const SWARM_KEY_BYTES = 32;
/** Default time for a new connection to complete the handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
const NONCE_BYTES = 32;
const DOMAIN = 'ppp2p-handshake';

export interface HandshakeResult {
  /** The other side's peer id (a daemon's id, or the id an application's client chose). */
  remoteId: string;
  /** The initiator's role; on the initiating side, the role it announced. */
  role: Role;
  /** The listening URL a peer announced in its hello (acceptor side), or the URL dialled (initiator side). */
  remoteUrl: string | undefined;
}

export interface HandshakeOptions {
  swarmKey: Uint8Array;
  /** This side's id. */
  peerId: string;
  /** TLS exporter keying material of this session, or undefined on plain ws. */
  channelBinding?: Uint8Array;
  /** @default 5000 */
  timeoutMs?: number;
  /** @internal Tests only: announce another protocol version. */
  protocolVersion?: number;
}

export interface InitiateOptions extends HandshakeOptions {
  role: Role;
  /** The listening URL this peer announces (peers only). */
  url?: string;
  /** The URL being dialled, reported back as `remoteUrl`. */
  dialledUrl?: string;
}

/** Checks a swarm key's length; throws with a message saying how to make one. */
export function checkSwarmKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== SWARM_KEY_BYTES) {
    throw new TypeError(
      `swarm key must be ${SWARM_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.length : typeof key} (make one with: ppp2p keygen > swarm.key)`,
    );
  }
}

/** The proof one side sends: HMAC-SHA256 under the swarm key over the whole transcript. @internal exported for tests */
export function computeProof(
  key: Uint8Array,
  t: { v: number; prover: 'initiator' | 'acceptor'; role: Role; initiatorId: string; acceptorId: string; nI: Uint8Array; nA: Uint8Array; channelBinding?: Uint8Array },
): Buffer {
  const h = createHmac('sha256', key);
  const part = (b: Uint8Array | string): void => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    h.update(len);
    h.update(buf);
  };
  part(DOMAIN);
  part(String(t.v));
  part(t.prover);
  part(t.role);
  part(t.initiatorId);
  part(t.acceptorId);
  part(t.nI);
  part(t.nA);
  part(t.channelBinding ?? new Uint8Array(0));
  return h.digest();
}

/** Constant-time comparison of two proofs (different lengths compare unequal without leaking where). */
export function proofsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A close reason fits in 123 bytes of UTF-8; longer ones make ws throw. */
export function closeReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/** Closes a socket without throwing whatever state it is in. */
export function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    if (ws.readyState === ws.CONNECTING) ws.terminate();
    else ws.close(code, closeReason(reason));
  } catch {
    ws.terminate();
  }
}

export function versionMismatchReason(ours: number, theirs: number): string {
  return `protocol version mismatch: this side speaks version ${ours}, the other side version ${theirs}`;
}

type Step = (msg: Message) => void;

/**
 * Runs one side of the handshake on an open socket. `onSuccess` is called synchronously with the result as
 * the last handshake frame is processed, so the caller can attach its own listeners before any later frame
 * is emitted; the returned promise resolves with its return value. On failure the socket is closed with a
 * code and the promise rejects with a HandshakeError.
 */
function run<T>(ws: WebSocket, timeoutMs: number, start: (fail: (e: HandshakeError) => void, done: () => void) => Step, onSuccess: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let finished = false;
    const cleanup = (): void => {
      finished = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    const fail = (e: HandshakeError): void => {
      if (finished) return;
      cleanup();
      e.closedBy = 'us';
      if (e.closeCode !== undefined && ws.readyState === ws.OPEN) safeClose(ws, e.closeCode, e.closeReason ?? e.message);
      else if (ws.readyState !== ws.CLOSED) ws.terminate();
      reject(e);
    };
    const done = (): void => {
      if (finished) return;
      cleanup();
      try {
        resolve(onSuccess());
      } catch (err) {
        reject(err as Error);
      }
    };
    const timer = setTimeout(
      () => fail(new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `handshake not completed within ${timeoutMs} ms`, CloseCode.HANDSHAKE_TIMEOUT, 'handshake timeout')),
      timeoutMs,
    );
    const onClose = (code: number, reason: Buffer): void => {
      const why = reason.toString('utf8');
      const codeOf = code === CloseCode.AUTH_FAILED ? 'ERR_AUTH_FAILED' : code === CloseCode.VERSION_MISMATCH ? 'ERR_VERSION_MISMATCH' : 'ERR_HANDSHAKE_FAILED';
      if (finished) return;
      cleanup();
      reject(new HandshakeError(codeOf, `the other side closed the connection during the handshake (${code}${why ? `: ${why}` : ''})`, code, why, 'them'));
    };
    const step = start(fail, done);
    const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
      if (finished) return;
      try {
        if (!isBinary) throw new ProtocolError('ERR_FRAME_TEXT', 'text frame during the handshake');
        const bytes = toBuffer(data);
        if (bytes.length > MAX_HANDSHAKE_FRAME_BYTES) {
          throw new ProtocolError('ERR_FRAME_TOO_LARGE', `handshake frame of ${bytes.length} bytes exceeds ${MAX_HANDSHAKE_FRAME_BYTES}`);
        }
        const raw = decodeValue(bytes);
        // The version is read before anything else so that a future hello with other fields is still
        // refused with both versions named, not as an invalid message.
        const v = (raw as { v?: unknown } | null)?.v;
        const t = (raw as { t?: unknown } | null)?.t;
        if ((t === 'hello' || t === 'challenge') && typeof v === 'number' && v !== PROTOCOL_VERSION) {
          const reason = versionMismatchReason(PROTOCOL_VERSION, v);
          fail(new HandshakeError('ERR_VERSION_MISMATCH', reason, CloseCode.VERSION_MISMATCH, reason));
          return;
        }
        step(validateMessage(raw));
      } catch (err) {
        if (err instanceof ProtocolError) {
          fail(new HandshakeError('ERR_HANDSHAKE_FAILED', `${err.code}: ${err.message}`, err.closeCode, `${err.code}: ${err.message}`));
        } else {
          fail(new HandshakeError('ERR_HANDSHAKE_FAILED', `handshake failed: ${(err as Error).message}`, CloseCode.PROTOCOL_ERROR, 'handshake failed'));
        }
      }
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function unexpected(msg: Message, wanted: string): HandshakeError {
  const reason = `ERR_UNEXPECTED_MESSAGE: '${msg.t}' during the handshake, expected '${wanted}'`;
  return new HandshakeError('ERR_HANDSHAKE_FAILED', reason, CloseCode.PROTOCOL_ERROR, reason);
}

function send(ws: WebSocket, msg: Message): void {
  ws.send(encodeFrame(msg));
}

/** The accepting side (the daemon's server). The socket must be open and have an 'error' listener. */
export function acceptHandshake<T>(ws: WebSocket, opts: HandshakeOptions, onSuccess: (r: HandshakeResult) => T): Promise<T> {
  const v = opts.protocolVersion ?? PROTOCOL_VERSION;
  let result: HandshakeResult | undefined;
  return run(
    ws,
    opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    (fail, done) => {
      let transcript: Omit<Parameters<typeof computeProof>[1], 'prover'> | undefined;
      return (msg) => {
        if (transcript === undefined) {
          if (msg.t !== 'hello') return fail(unexpected(msg, 'hello'));
          const nA = randomBytes(NONCE_BYTES);
          transcript = { v, role: msg.role, initiatorId: msg.peerId, acceptorId: opts.peerId, nI: msg.nonce, nA, channelBinding: opts.channelBinding };
          result = { remoteId: msg.peerId, role: msg.role, remoteUrl: msg.url };
          send(ws, { t: 'challenge', v, peerId: opts.peerId, nonce: nA });
          return;
        }
        if (msg.t !== 'auth') return fail(unexpected(msg, 'auth'));
        if (!proofsEqual(msg.proof, computeProof(opts.swarmKey, { ...transcript, prover: 'initiator' }))) {
          const reason = 'authentication failed: wrong swarm key';
          return fail(new HandshakeError('ERR_AUTH_FAILED', reason, CloseCode.AUTH_FAILED, reason));
        }
        send(ws, { t: 'welcome', proof: computeProof(opts.swarmKey, { ...transcript, prover: 'acceptor' }) });
        done();
      };
    },
    () => onSuccess(result!),
  );
}

/** The initiating side (`connect`). The socket must be open and have an 'error' listener. */
export function initiateHandshake<T>(ws: WebSocket, opts: InitiateOptions, onSuccess: (r: HandshakeResult) => T): Promise<T> {
  const v = opts.protocolVersion ?? PROTOCOL_VERSION;
  const nI = randomBytes(NONCE_BYTES);
  let result: HandshakeResult | undefined;
  const promise = run(
    ws,
    opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    (fail, done) => {
      let transcript: Omit<Parameters<typeof computeProof>[1], 'prover'> | undefined;
      return (msg) => {
        if (transcript === undefined) {
          if (msg.t !== 'challenge') return fail(unexpected(msg, 'challenge'));
          transcript = { v, role: opts.role, initiatorId: opts.peerId, acceptorId: msg.peerId, nI, nA: msg.nonce, channelBinding: opts.channelBinding };
          result = { remoteId: msg.peerId, role: opts.role, remoteUrl: opts.dialledUrl };
          send(ws, { t: 'auth', proof: computeProof(opts.swarmKey, { ...transcript, prover: 'initiator' }) });
          return;
        }
        if (msg.t !== 'welcome') return fail(unexpected(msg, 'welcome'));
        if (!proofsEqual(msg.proof, computeProof(opts.swarmKey, { ...transcript, prover: 'acceptor' }))) {
          const reason = 'authentication failed: the other side does not hold our swarm key';
          return fail(new HandshakeError('ERR_AUTH_FAILED', reason, CloseCode.AUTH_FAILED, reason));
        }
        done();
      };
    },
    () => onSuccess(result!),
  );
  send(ws, { t: 'hello', v, role: opts.role, peerId: opts.peerId, nonce: nI, ...(opts.url !== undefined ? { url: opts.url } : {}) });
  return promise;
}
