/** The thread's side of message passing (src/runtime/thread-messaging.ts) against a fake host: what crosses the port. */
import { describe, expect, it } from 'vitest';
import { ThreadMessaging } from '../../src/runtime/thread-messaging.ts';
import { ThreadContext } from '../../src/runtime/thread-context.ts';
import { decodeSnapshot, encodeValue } from '../../src/runtime/snapshot-codec.ts';
import { packDelivered, unpackEntries, type FromWorker } from '../../src/runtime/worker-messages.ts';

function setUp(): { m: ThreadMessaging; posts: FromWorker[] } {
  const posts: FromWorker[] = [];
  const m = new ThreadMessaging((msg) => posts.push(msg), 8);
  m.attach(ThreadContext.initialState(0, 3), false);
  posts.length = 0; // the cursor notice
  return { m, posts };
}

describe('ThreadMessaging', () => {
  it('posts the sends coalesced before a receive in the same post as the receive call, handled first by the host', async () => {
    const { m, posts } = setUp();
    await m.send(1, 'a', 1);
    await m.send(2, { b: 2 }, 2);
    const received = m.receive({ from: 1 });
    expect(posts).toHaveLength(1);
    const call = posts[0]!;
    if (call.type !== 'call') throw new Error(`expected a call, got ${call.type}`);
    expect(call.call).toMatchObject({ kind: 'receive', from: 1 });
    const sends = unpackEntries(call.sends!);
    expect(sends.map((e) => [e.to, e.seq, e.prev, decodeSnapshot(e.bytes)])).toEqual([
      [1, 1, -1, 'a'],
      [2, 2, -1, { b: 2 }],
    ]);
    m.onMessage({ type: 'delivered', id: call.id, batch: packDelivered([{ from: 1, seq: 7, bytes: encodeValue('hi') }]) });
    await expect(received).resolves.toEqual({ from: 1, value: 'hi' });
  });

  it('posts a receive call alone when nothing waits to be sent, and sends alone when no call follows', async () => {
    const { m, posts } = setUp();
    void m.receive();
    expect(posts).toMatchObject([{ type: 'call', call: { kind: 'receive' } }]);
    expect((posts[0] as { sends?: unknown }).sends).toBeUndefined();
    await m.send(1, 'x', 3);
    m.flush();
    expect(posts[1]).toMatchObject({ type: 'entries', kind: 'send' });
    expect(unpackEntries((posts[1] as { batch: Uint8Array }).batch).map((e) => e.seq)).toEqual([3]);
  });
});
