/** The mailbox alone: chain order, duplicates, bounds and credits, the cursor a resumed thread starts from. */
import { describe, expect, it } from 'vitest';
import { Mailbox, type Offer } from '../../../src/daemon/host/mailbox.ts';
import { ThreadEffectError } from '../../../src/runtime/errors.ts';

function box(capacity = 8): { box: Mailbox; credits: number[]; consumed: number[] } {
  const credits: number[] = [];
  const consumed: number[] = [];
  const b = new Mailbox('vc', 9, 1, capacity, { credit: (from) => credits.push(from), consumed: (from) => consumed.push(from) });
  return { box: b, credits, consumed };
}

const offer = (from: number, seq: number, prev: number, round = 0): Offer => ({ from, seq, prev, bytes: new Uint8Array([seq]), origin: `host-${from}`, round });
const seqs = (batch: { seq: number }[]): number[] => batch.map((m) => m.seq);

describe('Mailbox', () => {
  it('accepts only the next message of each sender chain; repeats are duplicates, skips are gaps', async () => {
    const { box: b } = box();
    b.start({});
    expect(b.offer(offer(1, 3, -1))).toEqual({ kind: 'accepted' });
    expect(b.offer(offer(1, 3, -1))).toEqual({ kind: 'duplicate' });
    expect(b.offer(offer(1, 9, 7))).toEqual({ kind: 'refused', reason: 'gap', expect: 3 });
    // One refusal per sender round: the sender goes back on the first, so the rest of the round is dropped.
    expect(b.offer(offer(1, 11, 9))).toEqual({ kind: 'dropped' });
    expect(b.offer(offer(1, 7, 3, 1))).toEqual({ kind: 'accepted' });
    expect(b.offer(offer(2, 0, -1))).toEqual({ kind: 'accepted' });
    expect(seqs(await b.receive(undefined, undefined, 10))).toEqual([3, 7, 0]);
  });

  it('keeps FIFO per sender with selective receives', async () => {
    const { box: b } = box();
    b.start({});
    b.offer(offer(1, 0, -1));
    b.offer(offer(2, 1, -1));
    b.offer(offer(1, 2, 0));
    b.offer(offer(2, 3, 1));
    expect(seqs(await b.receive(2, undefined, 1))).toEqual([1]);
    expect(seqs(await b.receive(1, undefined, 5))).toEqual([0, 2]);
    expect(seqs(await b.receive(undefined, undefined, 5))).toEqual([3]);
  });

  it('refuses when full, then credits the refused senders as the thread receives', async () => {
    const { box: b, credits } = box(2);
    b.start({});
    b.offer(offer(1, 0, -1));
    b.offer(offer(2, 0, -1));
    expect(b.offer(offer(3, 0, -1))).toEqual({ kind: 'refused', reason: 'full', expect: -1 });
    expect(b.size).toBe(2);
    await b.receive(undefined, undefined, 1);
    expect(credits).toEqual([3]);
    expect(b.offer(offer(3, 0, -1, 1))).toEqual({ kind: 'accepted' });
  });

  it('holds messages until the thread reports its cursor, then drops what the thread had received', () => {
    const { box: b } = box();
    expect(b.offer(offer(1, 4, 2))).toEqual({ kind: 'held' });
    expect(b.offer(offer(1, 6, 4))).toEqual({ kind: 'held' });
    const verdicts = b.start({ 1: 4 }).map(([o, v]) => [o.seq, v.kind]);
    expect(verdicts).toEqual([
      [4, 'duplicate'],
      [6, 'accepted'],
    ]);
    expect(b.accepted(1)).toBe(6);
  });

  it('hands a waiting receive every message of a frame at once, and tells which senders were consumed', async () => {
    const { box: b, consumed } = box();
    b.start({});
    const waiting = b.receive(1, undefined, 4);
    for (let s = 0; s < 6; s++) b.offer(offer(1, s, s - 1));
    b.wake();
    expect(seqs(await waiting)).toEqual([0, 1, 2, 3]);
    expect(consumed).toEqual([1]);
    expect(b.consumed(1)).toBe(3);
    expect(b.accepted(1)).toBe(5);
  });

  it('rejects a receive after its timeout with code ERR_RECEIVE_TIMEOUT, and a closed mailbox rejects its waiters', async () => {
    const { box: b } = box();
    b.start({});
    const timedOut = b.receive(3, 30, 1);
    await expect(timedOut).rejects.toBeInstanceOf(ThreadEffectError);
    await expect(timedOut).rejects.toMatchObject({ code: 'ERR_RECEIVE_TIMEOUT', message: 'no message within 30 ms' });
    const pending = b.receive(undefined, undefined, 1);
    b.close();
    await expect(pending).rejects.toBeInstanceOf(ThreadEffectError);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_MAILBOX_CLOSED', message: `thread ${b.thread} left this peer` });
  });
});
