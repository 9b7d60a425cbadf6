/**
 * Placement task tokens (docs/authorization.md): the owner issues 16 random bytes in each `exec`, the host echoes them in
 * every report about that placement, and the owner compares them in constant time, besides the sender's
 * authenticated id and the epoch. A report failing the check is dropped (a request gets an error), never applied.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a placement token. */
export const PLACEMENT_TOKEN_BYTES = 16;

/** A fresh token for a new placement. */
export function newPlacementToken(): Uint8Array {
  return new Uint8Array(randomBytes(PLACEMENT_TOKEN_BYTES));
}

/** Whether `got` is the token issued (`issued`), in constant time; false when none was issued. */
export function samePlacementToken(issued: Uint8Array | undefined, got: Uint8Array | undefined): boolean {
  if (issued === undefined || got === undefined || issued.byteLength !== got.byteLength) return false;
  return timingSafeEqual(issued, got);
}
