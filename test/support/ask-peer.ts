/** One request to a live daemon as a short-lived authenticated client: how tests read a peer's state. */
import { connect } from '../../src/protocol/connection.ts';
import type { ReplyOf, RequestInputOf } from '../../src/protocol/messages.ts';

export async function askPeer<T extends 'members' | 'vc-status'>(url: string, swarmKey: Uint8Array, t: T): Promise<ReplyOf<T>> {
  const conn = await connect(url, { swarmKey, role: 'client' });
  try {
    // The connection checks that the answer is the request's reply type (UnexpectedReplyError otherwise).
    return await conn.request<T>({ t } as RequestInputOf<T> & { t: T });
  } finally {
    conn.close();
  }
}
