/**
 * The session's frame encryption: after `welcome`, every frame in both directions is sealed with AES-256-GCM under
 * that direction's session key (handshake.ts derives both with HKDF-SHA256 from an X25519 secret, salted with the
 * swarm key and bound to the transcript hash).
 *
 * Wire format of a sealed frame: ciphertext || 16-byte tag; nothing else. The 96-bit nonce is implicit: 4 zero
 * bytes and a 64-bit big-endian counter, one counter per direction, starting at 0 and raised by one per frame.
 * Both sides count, so a replayed, reordered, dropped, truncated or tampered frame fails authentication at the
 * receiver (ERR_FRAME_AUTH: the connection is closed with 4400 and one log line). WebSocket over TCP delivers in
 * order, so nothing legitimate ever arrives out of sequence. The encoded frame is sealed as is, so the
 * msg-batch fast path (codec.ts encodeDeliver) keeps its single copy of the batch up to here.
 *
 * AES-256-GCM over ChaCha20-Poly1305: on the 2-core dev VM (AES-NI, OpenSSL 3.0, Node 20) one 64 KB frame seals in
 * ~71 µs with AES-256-GCM (~0.9 GB/s) against ~219 µs with ChaCha20-Poly1305; a 1 KB frame ~10 µs against ~18 µs,
 * most of it the per-frame createCipheriv. On TLS the frames are sealed as well (TLS protects the transport, this
 * the session between two identities); the cost there was not measured separately.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ProtocolError } from './errors.ts';

export const AEAD_ALGORITHM = 'aes-256-gcm';
/** Bytes a sealed frame adds to the encoded one. */
export const AEAD_OVERHEAD = 16;
export const SESSION_KEY_BYTES = 32;

/**
 * Set to 1 in the environment of BOTH ends to send frames in the clear. Benchmarks only (the plaintext baseline
 * of bench:messaging and bench:dispatch); never in production: it turns off confidentiality and integrity.
 */
export const INSECURE_PLAINTEXT_ENV = 'PPP2P_INSECURE_PLAINTEXT_FOR_BENCH';

export function plaintextForBench(): boolean {
  return process.env[INSECURE_PLAINTEXT_ENV] === '1';
}

function nonce(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 4);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
}

/** One connection's pair of directional keys and counters. */
export class SecureChannel {
  #sendKey: Buffer;
  #recvKey: Buffer;
  #sent = 0;
  #received = 0;

  constructor(sendKey: Uint8Array, recvKey: Uint8Array) {
    if (sendKey.length !== SESSION_KEY_BYTES || recvKey.length !== SESSION_KEY_BYTES) throw new TypeError('session keys are 32 bytes');
    this.#sendKey = Buffer.from(sendKey);
    this.#recvKey = Buffer.from(recvKey);
  }

  /** Frames sealed so far (the next frame's counter). */
  get sent(): number {
    return this.#sent;
  }

  /** Encrypts and authenticates the next outgoing frame. */
  seal(frame: Uint8Array): Buffer {
    if (this.#sent >= Number.MAX_SAFE_INTEGER) throw new RangeError('session frame counter exhausted; reconnect');
    const cipher = createCipheriv(AEAD_ALGORITHM, this.#sendKey, nonce(this.#sent++));
    const out = Buffer.allocUnsafe(frame.length + AEAD_OVERHEAD);
    const body = cipher.update(frame);
    body.copy(out, 0);
    const last = cipher.final();
    last.copy(out, body.length);
    cipher.getAuthTag().copy(out, body.length + last.length);
    return out;
  }

  /** Decrypts the next incoming frame; throws ProtocolError ERR_FRAME_AUTH if it is not exactly the frame expected next. */
  open(sealed: Uint8Array): Buffer {
    const n = this.#received;
    if (sealed.length < AEAD_OVERHEAD) {
      throw new ProtocolError('ERR_FRAME_AUTH', `encrypted frame ${n} of ${sealed.length} bytes is shorter than its ${AEAD_OVERHEAD}-byte tag`);
    }
    const end = sealed.length - AEAD_OVERHEAD;
    try {
      const decipher = createDecipheriv(AEAD_ALGORITHM, this.#recvKey, nonce(n));
      decipher.setAuthTag(sealed.subarray(end));
      const body = decipher.update(sealed.subarray(0, end));
      decipher.final();
      this.#received++;
      return body;
    } catch {
      throw new ProtocolError('ERR_FRAME_AUTH', `encrypted frame ${n} of ${sealed.length} bytes failed authentication (tampered, replayed, reordered or truncated)`);
    }
  }
}
