/** msg-deliver frames: validated as a whole, with errors that name the exact field even deep in a batch. */
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { decodeFrame, encodeFrame } from '../../peer-controller/protocol/codec.ts';
import type { Message } from '../../peer-controller/protocol/messages.ts';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const deliver = (msgs: unknown[]): Record<string, unknown> => ({ t: 'msg-deliver', vc: 'vc-1', from: 1, to: 2, epoch: 1, round: 0, origin: 'peer-a', dest: 'peer-b', msgs });

describe('msg-deliver frames', () => {
  it('round-trip a batch of messages', () => {
    const msgs = Array.from({ length: 100 }, (_, i) => ({ seq: i * 2, prev: i * 2 - 2, value: new Uint8Array([i]) }));
    const back = decodeFrame(encodeFrame(deliver(msgs) as Message)) as Extract<Message, { t: 'msg-deliver' }>;
    expect(back.msgs.map((m) => [m.seq, m.prev, m.value[0]])).toEqual(msgs.map((m) => [m.seq, m.prev, m.value[0]]));
  });

  it('name the field of the first bad message in the batch', () => {
    const msgs: unknown[] = Array.from({ length: 50 }, (_, i) => ({ seq: i, prev: i - 1, value: new Uint8Array(1) }));
    msgs[37] = { seq: -4, prev: 35, value: new Uint8Array(1) };
    expect(() => decodeFrame(packr.pack(deliver(msgs)))).toThrow("invalid 'msg-deliver' message: msgs[37].seq: expected a non-negative integer, got the integer -4");
    msgs[37] = { seq: 36, prev: 35 };
    expect(() => decodeFrame(packr.pack(deliver(msgs)))).toThrow("invalid 'msg-deliver' message: msgs[37].value: expected at most 50331648 bytes, got nothing");
    msgs[37] = 'x';
    expect(() => decodeFrame(packr.pack(deliver(msgs)))).toThrow("invalid 'msg-deliver' message: msgs[37]: expected a map, got a string of 1 characters");
  });
});
