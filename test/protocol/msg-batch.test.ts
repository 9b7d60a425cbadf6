/**
 * msg-deliver frames: the messages travel as one binary batch (src/protocol/msg-batch.ts), checked as a
 * whole, with errors that name the exact message and field even deep in a batch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { decodeFrame, encodeFrame } from '../../src/protocol/codec.ts';
import type { Message } from '../../src/protocol/messages.ts';
import { decodeMsgBatch, encodeMsgBatch, forEachMsg, msgBatchCount, msgBatchFirstSeq, type BatchItem } from '../../src/protocol/msg-batch.ts';
import { ProtocolError } from '../../src/protocol/errors.ts';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const deliver = (msgs: unknown): Record<string, unknown> => ({ t: 'msg-deliver', vc: 'vc-1', from: 1, to: 2, epoch: 1, round: 0, origin: 'peer-a', dest: 'peer-b', msgs });
type Deliver = Extract<Message, { t: 'msg-deliver' }>;

const items = (n: number): BatchItem[] => Array.from({ length: n }, (_, i) => ({ seq: i * 2, prev: i * 2 - 2, bytes: new Uint8Array([i & 0xff, 7]) }));
const plain = (list: readonly BatchItem[]): [number, number, number[]][] => list.map((m) => [m.seq, m.prev, [...m.bytes]]);

/** A batch with one header field of message `i` overwritten (field offsets: seq 0, prev 8, length 16). */
function corrupt(batch: Uint8Array, i: number, field: 'seq' | 'prev' | 'length', value: number): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer);
  const at = 4 + 20 * i + { seq: 0, prev: 8, length: 16 }[field];
  if (field === 'length') view.setUint32(at, value, true);
  else view.setFloat64(at, value, true);
  return copy;
}

function refusal(msgs: unknown): ProtocolError {
  try {
    decodeFrame(packr.pack(deliver(msgs)));
  } catch (err) {
    return err as ProtocolError;
  }
  throw new Error('decoded without error');
}

describe('msg-deliver frames', () => {
  it('round-trip a batch of messages, built in place and copied', () => {
    const list = items(100);
    const batch = encodeMsgBatch(list);
    const first = encodeFrame(deliver(batch) as Message);
    // The frame took the room in front of the batch: no second copy of the values.
    expect(first.buffer).toBe(batch.buffer);
    // A second encoding of the same message (a relay, a retry) must not write into that frame again.
    const second = encodeFrame(deliver(batch) as Message);
    expect(second.buffer).not.toBe(batch.buffer);
    expect(Buffer.compare(first, second)).toBe(0);
    for (const frame of [first, second]) {
      const back = decodeFrame(frame) as Deliver;
      expect(plain(decodeMsgBatch(back.msgs))).toEqual(plain(list));
      expect(msgBatchCount(back.msgs)).toBe(100);
      expect(msgBatchFirstSeq(back.msgs)).toBe(0);
    }
  });

  it('are ordinary msgpack maps for any decoder', () => {
    const batch = encodeMsgBatch(items(3));
    const m = packr.unpack(encodeFrame(deliver(batch) as Message)) as Record<string, unknown>;
    expect(Object.keys(m).sort()).toEqual(['dest', 'epoch', 'from', 'msgs', 'origin', 'round', 't', 'to', 'vc']);
    expect(Buffer.compare(m.msgs as Uint8Array, batch)).toBe(0);
  });

  it('round-trip any batch (property)', () => {
    const item = fc.record({
      seq: fc.maxSafeNat(),
      prev: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
      bytes: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), fc.nat(5), (list, skip) => {
        const from = Math.min(skip, list.length);
        const batch = encodeMsgBatch(list, from);
        const back = decodeFrame(encodeFrame(deliver(batch) as Message)) as Deliver;
        const seen: BatchItem[] = [];
        forEachMsg(back.msgs, (seq, prev, bytes) => seen.push({ seq, prev, bytes }));
        expect(plain(seen)).toEqual(plain(list.slice(from)));
      }),
      { numRuns: 200 },
    );
  });

  it('name the field of the first bad message in the batch', () => {
    const batch = encodeMsgBatch(Array.from({ length: 50 }, (_, i) => ({ seq: i, prev: i - 1, bytes: new Uint8Array(1) })));
    const bad = (b: Uint8Array): string => refusal(b).message;
    expect(bad(corrupt(batch, 37, 'seq', -4))).toBe("invalid 'msg-deliver' message: msgs[37].seq: expected a non-negative integer, got the integer -4");
    expect(bad(corrupt(batch, 37, 'seq', 2 ** 60))).toMatch(/^invalid 'msg-deliver' message: msgs\[37\]\.seq: expected a non-negative integer, got /);
    expect(bad(corrupt(batch, 12, 'prev', 1.5))).toBe("invalid 'msg-deliver' message: msgs[12].prev: expected an integer, got the number 1.5");
    expect(bad(corrupt(batch, 12, 'prev', Number.NaN))).toBe("invalid 'msg-deliver' message: msgs[12].prev: expected an integer, got the number NaN");
    expect(bad(corrupt(batch, 5, 'length', 60_000_000))).toBe("invalid 'msg-deliver' message: msgs[5].value: expected at most 50331648 bytes, got 60000000 bytes");
    expect(bad(corrupt(batch, 49, 'length', 2))).toBe("invalid 'msg-deliver' message: msgs[49].value: expected 2 bytes, as its header says, got 1 bytes before the batch ends");
    expect(bad(corrupt(batch, 49, 'length', 0))).toBe("invalid 'msg-deliver' message: msgs: expected a batch that ends with its last message's value, got 1 bytes after it");
    expect(refusal(corrupt(batch, 37, 'seq', -4))).toMatchObject({ code: 'ERR_INVALID_FIELD' });
  });

  it('refuse batches whose layout is wrong, naming what is wrong', () => {
    const batch = encodeMsgBatch(items(3));
    const bad = (b: unknown): string => refusal(b).message;
    expect(bad(batch.subarray(0, 3))).toBe(
      "invalid 'msg-deliver' message: msgs: expected a message batch (a 4-byte count, 20 bytes of seq, prev and length per message, then the values), got 3 bytes, too few for its count",
    );
    expect(bad(batch.subarray(0, 30))).toBe("invalid 'msg-deliver' message: msgs: expected 64 bytes of header for the 3 messages the batch announces, got 30 bytes");
    const huge = batch.slice();
    new DataView(huge.buffer).setUint32(0, 70_000, true);
    expect(bad(huge)).toBe("invalid 'msg-deliver' message: msgs: expected a message batch of at most 65536 messages, got a batch of 70000");
    // The format of protocol version 1 (a map per message) is refused as a whole, not half-read.
    expect(bad([{ seq: 0, prev: -1, value: new Uint8Array(1) }])).toBe(
      "invalid 'msg-deliver' message: msgs: expected a message batch (a 4-byte count, 20 bytes of seq, prev and length per message, then the values), got an array of 1",
    );
    expect(bad('x')).toMatch(/msgs: expected a message batch .* got a string of 1 characters$/);
    // Empty batches are well-formed (and ignored by mailboxes).
    expect(msgBatchCount((decodeFrame(packr.pack(deliver(encodeMsgBatch([])))) as Deliver).msgs)).toBe(0);
  });

  it('refuse any corruption of a valid batch as a whole or decode it to well-formed messages (property)', () => {
    const batch = encodeMsgBatch(items(8));
    fc.assert(
      fc.property(fc.nat(batch.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(batch.length), (at, byte, cut) => {
        const b = batch.slice(0, Math.max(cut, 0) || batch.length);
        b[Math.min(at, b.length - 1)] = byte;
        let back: Deliver;
        try {
          back = decodeFrame(packr.pack(deliver(b))) as Deliver;
        } catch (err) {
          expect(err).toMatchObject({ code: 'ERR_INVALID_FIELD', message: expect.stringMatching(/^invalid 'msg-deliver' message: msgs/) as unknown });
          return;
        }
        let total = 0;
        forEachMsg(back.msgs, (seq, prev, value) => {
          expect(Number.isSafeInteger(seq) && seq >= 0 && Number.isSafeInteger(prev)).toBe(true);
          total += value.byteLength;
        });
        expect(4 + 20 * msgBatchCount(back.msgs) + total).toBe(back.msgs.byteLength);
      }),
      { numRuns: 500 },
    );
  });
});
