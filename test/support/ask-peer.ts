/** One request to a live daemon as a short-lived authenticated client: how tests read a peer's state. */
import { randomBytes } from 'node:crypto';
import { connect } from '../../src/protocol/connection.ts';
import type { MessageOf } from '../../src/protocol/messages.ts';

interface Replies {
  members: 'members-reply';
  'vc-status': 'vc-status-reply';
}

export async function askPeer<T extends keyof Replies>(url: string, swarmKey: Uint8Array, t: T): Promise<MessageOf<Replies[T]>> {
  const expected = `${t}-reply`;
  const conn = await connect(url, { swarmKey, role: 'client', peerId: `test-${randomBytes(3).toString('hex')}` });
  try {
    const answer = await conn.request({ t } as { t: 'members' } | { t: 'vc-status' });
    if (answer.t !== expected) throw new Error(`expected ${expected} from ${url}, got ${answer.t}`);
    return answer as MessageOf<Replies[T]>;
  } finally {
    conn.close();
  }
}
