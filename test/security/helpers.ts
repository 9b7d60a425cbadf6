/**
 * A malicious but authenticated peer for the security tests: a raw connection to a daemon with the swarm key,
 * speaking the protocol directly.
 *
 * This is the one place that knows how a raw peer authenticates. Today `connect` takes the id a peer claims
 * (`peerId`); once peers have identity keys (issue 15, item 1) it takes a key pair and the id is derived from the
 * public key: adapt {@link rawPeer} then. `claim` is the id the attacker pretends to have. With identity keys it
 * can no longer be honoured (the id comes from the attacker's own key); the tests still hold then, because every
 * handler also checks what only the rightful sender knows (the placement token) or compares the authenticated id.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import type { Role } from '../../src/protocol/messages.ts';
import { createLogger } from '../../src/protocol/log.ts';

export interface RawPeerOptions {
  /** The id to claim (see above). @default a fresh `mallory-…` id */
  claim?: string;
  /** @default 'peer' */
  role?: Role;
}

/** Opens an authenticated connection to the daemon at `url` as a peer (or client) of the swarm of `swarmKey`. */
export async function rawPeer(url: string, swarmKey: Uint8Array, opts: RawPeerOptions = {}): Promise<Connection> {
  return connect(url, {
    swarmKey,
    role: opts.role ?? 'peer',
    peerId: opts.claim ?? `mallory-${randomBytes(4).toString('hex')}`,
    log: createLogger({ level: 'silent' }),
  });
}

/** 16 bytes the attacker made up, where a placement token goes. */
export function guessedToken(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
