/** One request to a live daemon as a short-lived authenticated client: how tests read a peer's state. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../src/protocol/connection.ts';
import type { ReplyOf, RequestInputOf } from '../../src/protocol/messages.ts';

/**
 * Data dirs of the daemons tests started, by URL: `vc-status` is asked with the daemon's local admin credential
 * (`<dataDir>/admin.token`), as its operator's `ppp2p status --data-dir` does, so that tests see every virtual computer.
 */
export const peerDataDirs = new Map<string, string>();

/** The admin credential of the daemon at `url`, if a test started it and it wrote one. */
export function adminTokenOf(url: string): string | undefined {
  const dir = peerDataDirs.get(url);
  if (dir === undefined) return undefined;
  try {
    return readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function askPeer<T extends 'members' | 'vc-status'>(url: string, swarmKey: Uint8Array, t: T): Promise<ReplyOf<T>> {
  const conn = await connect(url, { swarmKey, role: 'client' });
  try {
    const admin = t === 'vc-status' ? adminTokenOf(url) : undefined;
    // The connection checks that the answer is the request's reply type (UnexpectedReplyError otherwise).
    return await conn.request<T>({ t, ...(admin !== undefined ? { admin } : {}) } as RequestInputOf<T> & { t: T });
  } finally {
    conn.close();
  }
}
