/**
 * The handshake: versioned, mutual authentication with the swarm key (who may join) and with each side's Ed25519
 * identity key (who is who), and the session keys that encrypt every later frame (secure-channel.ts).
 *
 * ```text
 * initiator                                                        acceptor
 *   hello     { v, role, peerId, key: KI, eph: EI, nonce: nI, url? }  →    version checked first: a mismatch closes 4426;
 *                                                                          peerId ≠ id(KI) closes 4401
 *             ←  challenge { v, peerId, key: KA, eph: EA, nonce: nA }      (initiator: peerId ≠ id(KA) closes 4401)
 *   auth      { proof: HMAC(swarmKey, 'initiator', H), sig: Sign(kI, 'initiator', H) }  →   verify both, else 4401
 *             ←  welcome { proof: HMAC(swarmKey, 'acceptor', H), sig: Sign(kA, 'acceptor', H) }
 *   verify both, else close 4401; from here every frame both ways is AES-256-GCM sealed
 * ```
 * H = SHA-256 of the length-prefixed transcript: a domain label, the protocol version, the initiator's role,
 * KI, EI, KA, EA (identity and ephemeral X25519 public keys of both sides), nI, nA, the initiator's announced URL
 * and, on TLS, the TLS exporter value of this very session (channel binding). The HMAC proves the swarm key; the
 * signature proves the identity key whose id (identity.ts: peerIdOf) the connection is then known by, so an id
 * can no longer be claimed. The initiator proves first, so the daemon never hands a proof of any kind to a side
 * that has not shown it holds the swarm key. Fresh nonces and ephemeral keys on both sides make a recorded proof
 * or signature useless; the side label keeps one from being reflected back; channel binding keeps a TLS man in
 * the middle from relaying. Session keys: HKDF-SHA256(ikm = X25519(own eph, remote eph), salt = swarm key,
 * info = label || H), 64 bytes: initiator→acceptor key, then acceptor→initiator key. The swarm key never crosses
 * the wire; proofs are compared in constant time. Before `welcome` nothing is dispatched: the caller only gets a
 * connection on success.
 */
import { createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, HandshakeError, ProtocolError } from './errors.ts';
import { decodeValue, encodeFrame, MAX_HANDSHAKE_FRAME_BYTES, PROTOCOL_VERSION } from './codec.ts';
import { peerIdOf, signWith, verifySignature, type Identity } from './identity.ts';
import { validateMessage, type Message, type Role } from './messages.ts';
import { plaintextForBench, SecureChannel, SESSION_KEY_BYTES } from './secure-channel.ts';

/** The swarm key is 32 random bytes (`ppp2p keygen`). */
export const SWARM_KEY_BYTES = 32;
/** Default time for a new connection to complete the handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
const NONCE_BYTES = 32;
const DOMAIN = 'ppp2p-handshake';
const SESSION_INFO = 'ppp2p-session-keys';
/** DER SubjectPublicKeyInfo prefix of an X25519 key (RFC 8410); the raw 32-byte key follows. */
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface HandshakeResult {
  /** The other side's peer id, derived from the identity key that signed its half of the transcript. */
  remoteId: string;
  /** The other side's raw 32-byte Ed25519 public key. */
  remoteKey: Buffer;
  /** The initiator's role; on the initiating side, the role it announced. */
  role: Role;
  /** The listening URL a peer announced in its hello (acceptor side), or the URL dialled (initiator side). */
  remoteUrl: string | undefined;
  /** The session's frame encryption; undefined only with PPP2P_INSECURE_PLAINTEXT_FOR_BENCH=1 (benchmarks). */
  channel: SecureChannel | undefined;
}

export interface HandshakeOptions {
  swarmKey: Uint8Array;
  /** This side's identity: its id is derived from the public key, and it signs the transcript. */
  identity: Identity;
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

/** Everything both sides sign and prove over. @internal exported for tests */
export interface Transcript {
  v: number;
  role: Role;
  initiatorKey: Uint8Array;
  initiatorEph: Uint8Array;
  acceptorKey: Uint8Array;
  acceptorEph: Uint8Array;
  nI: Uint8Array;
  nA: Uint8Array;
  url?: string;
  channelBinding?: Uint8Array;
}

/** Checks a swarm key's length; throws with a message saying how to make one. */
export function checkSwarmKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== SWARM_KEY_BYTES) {
    throw new TypeError(
      `swarm key must be ${SWARM_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.length : typeof key} (make one with: ppp2p keygen > swarm.key)`,
    );
  }
}

/** SHA-256 of the length-prefixed transcript. @internal exported for tests */
export function transcriptHash(t: Transcript): Buffer {
  const h = createHash('sha256');
  const part = (b: Uint8Array | string): void => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    h.update(len);
    h.update(buf);
  };
  part(DOMAIN);
  part(String(t.v));
  part(t.role);
  part(t.initiatorKey);
  part(t.initiatorEph);
  part(t.acceptorKey);
  part(t.acceptorEph);
  part(t.nI);
  part(t.nA);
  part(t.url ?? '');
  part(t.channelBinding ?? new Uint8Array(0));
  return h.digest();
}

function labelled(label: string, prover: 'initiator' | 'acceptor', th: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${DOMAIN}/${label}/${prover}/`, 'utf8'), th]);
}

/** The swarm-key proof one side sends: HMAC-SHA256 under the swarm key over the transcript hash. @internal exported for tests */
export function computeProof(key: Uint8Array, prover: 'initiator' | 'acceptor', th: Uint8Array): Buffer {
  return createHmac('sha256', key).update(labelled('proof', prover, th)).digest();
}

/** The identity signature one side sends: Ed25519 over the transcript hash. @internal exported for tests */
export function signTranscript(identity: Identity, prover: 'initiator' | 'acceptor', th: Uint8Array): Buffer {
  return signWith(identity, labelled('sig', prover, th));
}

export function verifyTranscript(publicKey: Uint8Array, prover: 'initiator' | 'acceptor', th: Uint8Array, sig: Uint8Array): boolean {
  return verifySignature(publicKey, labelled('sig', prover, th), sig);
}

/** A fresh X25519 key pair for one handshake: the private key and the raw 32-byte public key. */
function ephemeral(): { privateKey: KeyObject; raw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, raw: Buffer.from(spki.subarray(spki.length - 32)) };
}

/**
 * The two directional session keys; undefined if the remote ephemeral key is unusable (not on the curve, or a
 * low-order point giving an all-zero secret). @internal exported for tests
 */
export function sessionKeys(swarmKey: Uint8Array, own: KeyObject, remoteEph: Uint8Array, th: Uint8Array): { i2a: Buffer; a2i: Buffer } | undefined {
  let secret: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, remoteEph]), format: 'der', type: 'spki' });
    secret = diffieHellman({ privateKey: own, publicKey });
  } catch {
    return undefined;
  }
  if (secret.every((b) => b === 0)) return undefined;
  const okm = Buffer.from(hkdfSync('sha256', secret, swarmKey, Buffer.concat([Buffer.from(SESSION_INFO, 'utf8'), th]), 2 * SESSION_KEY_BYTES));
  return { i2a: okm.subarray(0, SESSION_KEY_BYTES), a2i: okm.subarray(SESSION_KEY_BYTES) };
}

function authFailed(reason: string): HandshakeError {
  return new HandshakeError('ERR_AUTH_FAILED', reason, CloseCode.AUTH_FAILED, reason);
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
      let state: { th: Buffer; eph: KeyObject; remoteEph: Uint8Array; remoteKey: Buffer; remoteId: string; role: Role; url: string | undefined } | undefined;
      return (msg) => {
        if (state === undefined) {
          if (msg.t !== 'hello') return fail(unexpected(msg, 'hello'));
          const remoteId = peerIdOf(msg.key);
          if (msg.peerId !== remoteId) return fail(authFailed(`hello claims peer id ${msg.peerId} but its identity key's id is ${remoteId}`));
          const nA = randomBytes(NONCE_BYTES);
          const eph = ephemeral();
          const th = transcriptHash({
            v,
            role: msg.role,
            initiatorKey: msg.key,
            initiatorEph: msg.eph,
            acceptorKey: opts.identity.publicKey,
            acceptorEph: eph.raw,
            nI: msg.nonce,
            nA,
            url: msg.url,
            channelBinding: opts.channelBinding,
          });
          state = { th, eph: eph.privateKey, remoteEph: msg.eph, remoteKey: Buffer.from(msg.key), remoteId, role: msg.role, url: msg.url };
          send(ws, { t: 'challenge', v, peerId: opts.identity.id, key: opts.identity.publicKey, eph: eph.raw, nonce: nA });
          return;
        }
        if (msg.t !== 'auth') return fail(unexpected(msg, 'auth'));
        if (!proofsEqual(msg.proof, computeProof(opts.swarmKey, 'initiator', state.th))) return fail(authFailed('authentication failed: wrong swarm key'));
        if (!verifyTranscript(state.remoteKey, 'initiator', state.th, msg.sig)) {
          return fail(authFailed(`authentication failed: the signature of ${state.remoteId} does not verify with its identity key`));
        }
        const keys = sessionKeys(opts.swarmKey, state.eph, state.remoteEph, state.th);
        if (keys === undefined) return fail(authFailed('authentication failed: unusable ephemeral key'));
        result = {
          remoteId: state.remoteId,
          remoteKey: state.remoteKey,
          role: state.role,
          remoteUrl: state.url,
          channel: plaintextForBench() ? undefined : new SecureChannel(keys.a2i, keys.i2a),
        };
        send(ws, { t: 'welcome', proof: computeProof(opts.swarmKey, 'acceptor', state.th), sig: signTranscript(opts.identity, 'acceptor', state.th) });
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
  const eph = ephemeral();
  let result: HandshakeResult | undefined;
  const promise = run(
    ws,
    opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    (fail, done) => {
      let state: { th: Buffer; remoteKey: Buffer; remoteId: string; keys: { i2a: Buffer; a2i: Buffer } } | undefined;
      return (msg) => {
        if (state === undefined) {
          if (msg.t !== 'challenge') return fail(unexpected(msg, 'challenge'));
          const remoteId = peerIdOf(msg.key);
          if (msg.peerId !== remoteId) return fail(authFailed(`challenge claims peer id ${msg.peerId} but its identity key's id is ${remoteId}`));
          const th = transcriptHash({
            v,
            role: opts.role,
            initiatorKey: opts.identity.publicKey,
            initiatorEph: eph.raw,
            acceptorKey: msg.key,
            acceptorEph: msg.eph,
            nI,
            nA: msg.nonce,
            url: opts.url,
            channelBinding: opts.channelBinding,
          });
          const keys = sessionKeys(opts.swarmKey, eph.privateKey, msg.eph, th);
          if (keys === undefined) return fail(authFailed('authentication failed: unusable ephemeral key'));
          state = { th, remoteKey: Buffer.from(msg.key), remoteId, keys };
          send(ws, { t: 'auth', proof: computeProof(opts.swarmKey, 'initiator', th), sig: signTranscript(opts.identity, 'initiator', th) });
          return;
        }
        if (msg.t !== 'welcome') return fail(unexpected(msg, 'welcome'));
        if (!proofsEqual(msg.proof, computeProof(opts.swarmKey, 'acceptor', state.th))) {
          return fail(authFailed('authentication failed: the other side does not hold our swarm key'));
        }
        if (!verifyTranscript(state.remoteKey, 'acceptor', state.th, msg.sig)) {
          return fail(authFailed(`authentication failed: the signature of ${state.remoteId} does not verify with its identity key`));
        }
        result = {
          remoteId: state.remoteId,
          remoteKey: state.remoteKey,
          role: opts.role,
          remoteUrl: opts.dialledUrl,
          channel: plaintextForBench() ? undefined : new SecureChannel(state.keys.i2a, state.keys.a2i),
        };
        done();
      };
    },
    () => onSuccess(result!),
  );
  send(ws, {
    t: 'hello',
    v,
    role: opts.role,
    peerId: opts.identity.id,
    key: opts.identity.publicKey,
    eph: eph.raw,
    nonce: nI,
    ...(opts.url !== undefined ? { url: opts.url } : {}),
  });
  return promise;
}
