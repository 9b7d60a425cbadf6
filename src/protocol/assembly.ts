/**
 * What an assembly is on the wire: one built module bundled with everything it imports except the ppp2p SDK, named
 * by the SHA-256 of its bytes. The application's bundler (client/assembly-bundler.ts) makes them, the peers' assembly
 * managers (daemon/host/assembly-manager.ts) check and install them.
 */
import { createHash } from 'node:crypto';

/** Largest assembly accepted from the wire, in bytes. */
export const MAX_ASSEMBLY_BYTES = 32 * 1024 * 1024;

/** The SDK's specifiers: kept external by the bundler, bound by each peer to its own SDK files. */
export const SDK_SPECIFIERS = ['ppp2p', 'ppp2p/runtime', 'ppp2p/thread'] as const;
export type SdkSpecifier = (typeof SDK_SPECIFIERS)[number];

/** An assembly hash: 64 lowercase hex digits. */
export function isAssemblyHash(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

export function assemblyHash(code: Uint8Array): string {
  return createHash('sha256').update(code).digest('hex');
}

/** A bundled module, ready to ship. */
export interface Assembly {
  readonly hash: string;
  readonly code: Uint8Array;
}
