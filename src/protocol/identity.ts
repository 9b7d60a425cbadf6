/**
 * Identity: every peer (daemon) and every owner (application) has its own Ed25519 key pair. The swarm key decides
 * who may join; the identity key decides who is who.
 *
 * The peer id is derived from the public key, never claimed: lowercase hex of the first 16 bytes of
 * SHA-256 over the raw 32-byte Ed25519 public key (32 hex characters, a valid `f.peerId`). The handshake
 * (handshake.ts) carries the public key, checks a signature over the transcript with it, and derives the id
 * from it, so the id a connection is known by is the id of the key that signed.
 *
 * ```ts
 * const me = loadOrCreateIdentity(join(dataDir, 'identity.key'));   // PKCS#8 PEM, mode 0600, reused after
 * me.id;                                                            // '3f9c…' (32 hex)
 * const app = generateIdentity();                                   // ephemeral (an application's default)
 * ```
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { OptionError } from './errors.ts';

/** Raw Ed25519 public keys are 32 bytes, signatures 64. */
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410); the raw key follows. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Identity {
  /** The peer id derived from `publicKey` (see peerIdOf). */
  readonly id: string;
  /** The raw 32-byte Ed25519 public key, as it crosses the wire. */
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

/** The peer id of a raw 32-byte Ed25519 public key: hex of the first 16 bytes of its SHA-256. */
export function peerIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex');
}

/** The identity of an Ed25519 private key (throws TypeError for another kind of key). */
export function identityFromPrivateKey(privateKey: KeyObject): Identity {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(`identity must be an Ed25519 private key, got a ${privateKey.type} ${privateKey.asymmetricKeyType ?? ''} key`);
  }
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
  return { id: peerIdOf(publicKey), publicKey, privateKey };
}

/** A fresh identity (an application's default: one per connection, nothing written). */
export function generateIdentity(): Identity {
  return identityFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}

/**
 * The identity stored at `path` (PKCS#8 PEM), created there (mode 0600) if the file does not exist. An unreadable
 * or corrupt file is an OptionError of one line; it is never overwritten (that would change the peer's id).
 */
export function loadOrCreateIdentity(path: string): Identity {
  if (!existsSync(path)) {
    const identity = generateIdentity();
    const pem = identity.privateKey.export({ format: 'pem', type: 'pkcs8' });
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
      return identity;
    } catch (err) {
      // Created meanwhile by another process: read that one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OptionError(`cannot write the identity key ${path}: ${(err as Error).message}; check the data directory's permissions`);
      }
    }
  }
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new OptionError(`cannot read the identity key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check its permissions`);
  }
  try {
    return identityFromPrivateKey(createPrivateKey({ key: pem, format: 'pem' }));
  } catch {
    throw new OptionError(`identity key ${path} is not an Ed25519 private key in PKCS#8 PEM; move it away to create a new identity (the peer id changes)`);
  }
}

/** Ed25519 signature of `data`. */
export function signWith(identity: Identity, data: Uint8Array): Buffer {
  return sign(null, data, identity.privateKey);
}

/** True if `signature` is `publicKey`'s (raw, 32 bytes) Ed25519 signature of `data`; false for any malformed input. */
export function verifySignature(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}
