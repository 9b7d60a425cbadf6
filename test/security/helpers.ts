/**
 * A malicious but authenticated peer for the security tests: a raw connection to a daemon with the swarm key,
 * speaking the protocol directly.
 *
 * This is the one place that knows how a raw peer authenticates: with an identity key of its own, from which the
 * daemon derives its id. `claim` is the id the attacker would like to have; it cannot be honoured (a hello that
 * claims another id is refused, test/security/identity.test.ts), so the attacker connects under its own key and the
 * attack is tried all the same: every handler compares the authenticated id and what only the rightful sender knows
 * (the placement token).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import type { Role } from '../../src/protocol/messages.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';

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
    identity: generateIdentity(),
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
