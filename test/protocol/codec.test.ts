/** Frames and validators: what the decoder accepts, and the stable error for everything it refuses. */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.ts';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION } from '../../src/protocol/codec.ts';
import { f, messageSchemas, validateMessage, type Infer, type MemberRecord, type Message, type MessageOf } from '../../src/protocol/messages.ts';
import { virtualComputerMessages } from '../../src/protocol/virtual-computer-messages.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });
const raw = (v: unknown): Uint8Array => packr.pack(v) as Uint8Array;
const member: MemberRecord = { id: 'p-1', url: 'ws://127.0.0.1:7420', inc: 2, state: 'suspect', slots: 4, free: 3, speed: 120.5, mv: 9 };

function refusal(bytes: Uint8Array, max?: number): ProtocolError {
  try {
    decodeFrame(bytes, max);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decoded without error');
}

describe('codec', () => {
  it('round-trips every kind of core message', () => {
    const msgs: Message[] = [
      { t: 'hello', v: PROTOCOL_VERSION, role: 'client', peerId: 'app-1', key: Buffer.alloc(32, 5), eph: Buffer.alloc(32, 6), nonce: Buffer.alloc(32, 1) },
      { t: 'hello', v: PROTOCOL_VERSION, role: 'peer', peerId: 'p', key: Buffer.alloc(32, 5), eph: Buffer.alloc(32, 6), nonce: Buffer.alloc(32), url: 'wss://h:1' },
      { t: 'challenge', v: 1, peerId: 'p', key: Buffer.alloc(32, 7), eph: Buffer.alloc(32, 8), nonce: Buffer.alloc(32, 2) },
      { t: 'auth', proof: Buffer.alloc(32, 3), sig: Buffer.alloc(64, 9) },
      { t: 'welcome', proof: Buffer.alloc(32, 4), sig: Buffer.alloc(64, 10) },
      { t: 'error', re: 7, code: 'ERR_X', message: 'no' },
      { t: 'join', id: 1, member },
      { t: 'join-reply', re: 1, members: [member, { ...member, id: 'p-2', state: 'dead' }] },
      { t: 'ping', id: 4294967296 },
      { t: 'ping', id: 5, g: [member] },
      { t: 'ping-req', id: 6, target: 'p-1' },
      { t: 'ack', re: 6 },
      { t: 'nack', re: 6 },
      { t: 'gossip', g: [member] },
      { t: 'members', id: 9 },
      { t: 'members-reply', re: 9, self: 'p-1', peers: [{ id: 'p-1', url: 'ws://a:1', slots: 1, freeSlots: 0, speed: 3, lastHeard: 0, state: 'alive', incarnation: 0 }] },
    ];
    for (const m of msgs) {
      const back = decodeFrame(encodeFrame(m));
      expect(back).toEqual(m);
    }
  });

  it('an idle ping and its ack are about 20 bytes on the wire', () => {
    expect(encodeFrame({ t: 'ping', id: 65000 }).length).toBeLessThanOrEqual(16);
    expect(encodeFrame({ t: 'ack', re: 65000 }).length).toBeLessThanOrEqual(16);
  });

  it('refuses garbage, truncated frames and trailing bytes with distinct codes', () => {
    expect(refusal(new Uint8Array([0xc1]))).toMatchObject({ code: 'ERR_FRAME_GARBAGE', closeCode: 4400 });
    const full = encodeFrame({ t: 'gossip', g: [member] });
    expect(refusal(full.subarray(0, full.length - 5))).toMatchObject({ code: 'ERR_FRAME_TRUNCATED', closeCode: 4400 });
    expect(refusal(new Uint8Array(0))).toMatchObject({ code: 'ERR_FRAME_TRUNCATED' });
    expect(refusal(Buffer.concat([full, Buffer.from([0])]))).toMatchObject({ code: 'ERR_FRAME_GARBAGE', message: expect.stringContaining('trailing bytes') as unknown });
    expect(refusal(new Uint8Array(200_000).fill(0x91))).toMatchObject({ code: 'ERR_FRAME_GARBAGE', message: expect.stringContaining('nested too deeply') as unknown });
  });

  it('refuses a frame over the maximum size before decoding it (close code 1009)', () => {
    const big = encodeFrame({ t: 'error', re: 1, code: 'x', message: 'y'.repeat(2000) });
    const err = refusal(big, 1024);
    expect(err).toMatchObject({ code: 'ERR_FRAME_TOO_LARGE', closeCode: 1009 });
    expect(err.message).toBe(`frame of ${big.length} bytes exceeds the maximum of 1024`);
  });

  it('refuses values that are not messages, and unknown types', () => {
    expect(refusal(raw([1, 2]))).toMatchObject({ code: 'ERR_NOT_A_MESSAGE', message: 'frame holds an array of 2, not a message map' });
    expect(refusal(raw('hi'))).toMatchObject({ code: 'ERR_NOT_A_MESSAGE' });
    expect(refusal(raw(null))).toMatchObject({ code: 'ERR_NOT_A_MESSAGE' });
    expect(refusal(raw({ id: 1 }))).toMatchObject({ code: 'ERR_NOT_A_MESSAGE', message: "message has no string type field 't' (got nothing)" });
    expect(refusal(raw({ t: 'launch-missiles' }))).toMatchObject({ code: 'ERR_UNKNOWN_TYPE', message: 'unknown message type "launch-missiles"' });
    // Inherited names are not message types.
    expect(refusal(raw({ t: 'toString' }))).toMatchObject({ code: 'ERR_UNKNOWN_TYPE' });
    expect(refusal(raw({ t: '__proto__' }))).toMatchObject({ code: 'ERR_UNKNOWN_TYPE' });
  });

  it('names the message type and the field of a missing or mistyped field', () => {
    expect(refusal(raw({ t: 'ping' })).message).toBe("invalid 'ping' message: id: expected a non-negative integer, got nothing");
    expect(refusal(raw({ t: 'ping', id: -1 })).message).toBe("invalid 'ping' message: id: expected a non-negative integer, got the integer -1");
    expect(refusal(raw({ t: 'ping', id: 1.5 })).code).toBe('ERR_INVALID_FIELD');
    expect(refusal(raw({ t: 'auth', proof: new Uint8Array(31) })).message).toBe("invalid 'auth' message: proof: expected 32 bytes, got 31 bytes");
    expect(refusal(raw({ t: 'gossip', g: [member, { ...member, state: 'zombie' }] })).message).toBe(
      `invalid 'gossip' message: g[1].state: expected one of "alive", "suspect", "dead", got a string of 6 characters`,
    );
    expect(refusal(raw({ t: 'join', id: 1, member: { ...member, url: 'http://x' } })).message).toMatch(/member\.url: expected a ws:\/\/ or wss:\/\/ URL/);
    expect(refusal(raw({ t: 'ping-req', id: 1, target: 'has space' })).message).toMatch(/target: expected a peer id/);
    // A 64-bit integer is not a request id.
    expect(refusal(Buffer.from([0x82, 0xa1, 0x74, 0xa4, ...Buffer.from('ping'), 0xa2, 0x69, 0x64, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).message).toBe(
      "invalid 'ping' message: id: expected a non-negative integer, got a 64-bit integer",
    );
  });

  it('drops fields the schema does not name, and never yields an own __proto__', () => {
    const m = decodeFrame(raw({ t: 'ping', id: 3, extra: 'x', g: [{ ...member, evil: 1 }] }));
    expect(m).toEqual({ t: 'ping', id: 3, g: [member] });
    const bytes = Buffer.from([0x83, 0xa1, 0x74, 0xa7, ...Buffer.from('members'), 0xa2, 0x69, 0x64, 0x01, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01]);
    const m2 = decodeFrame(bytes) as MessageOf<'members'>;
    expect(m2).toEqual({ t: 'members', id: 1 });
    expect(Object.getPrototypeOf(m2)).toBe(Object.prototype);
    expect(({} as { x?: unknown }).x).toBeUndefined();
  });

  it('decoding arbitrary bytes either yields a message or throws a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const m = decodeFrame(bytes);
          expect(Object.hasOwn(messageSchemas, m.t)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('valid member records survive a round trip unchanged (property)', () => {
    const rec = fc.record({
      id: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/),
      url: fc.constantFrom('ws://127.0.0.1:1', 'wss://example.org:443/x'),
      inc: fc.nat(),
      state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const),
      slots: fc.nat(1024),
      free: fc.nat(1024),
      speed: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)), // msgpack has no -0 integer
      mv: fc.maxSafeNat(),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 20 }), fc.nat(), (g, id) => {
        const msg: Message = { t: 'ping', id, g };
        expect(decodeFrame(encodeFrame(msg))).toEqual(msg);
      }),
    );
  });

  it('validates every field checker as documented', () => {
    const schema = {
      n: f.number,
      i: f.int,
      b: f.boolean,
      s: f.string({ max: 3 }),
      lit: f.literal('a', 2),
      arr: f.array(f.uint, { max: 2 }),
      rec: f.record(f.boolean),
      nul: f.nullable(f.string()),
      any: f.unknown,
      opt: f.optional(f.bytes({ max: 2 })),
    };
    type T = Infer<typeof schema>;
    expectTypeOf<T>().toEqualTypeOf<{
      n: number;
      i: number;
      b: boolean;
      s: string;
      lit: 'a' | 2;
      arr: number[];
      rec: Record<string, boolean>;
      nul: string | null;
      any: unknown;
      opt?: Uint8Array | undefined;
    }>();
    const ok = { n: 1.5, i: -3, b: false, s: 'abc', lit: 2, arr: [1, 2], rec: { x: true }, nul: null, any: { deep: [1] }, opt: new Uint8Array(2) };
    const obj = f.object(schema);
    expect(obj.check(ok, 'm')).toEqual(ok);
    const bad: [keyof typeof ok, unknown, string][] = [
      ['n', Infinity, 'a finite number'],
      ['i', 0.5, 'an integer'],
      ['b', 0, 'a boolean'],
      ['s', 'abcd', 'a string of at most 3 characters'],
      ['lit', 'b', 'one of "a", 2'],
      ['arr', [1, 2, 3], 'an array of at most 2 × a non-negative integer'],
      ['rec', { x: 1 }, 'a boolean'],
      ['nul', 5, 'a string of at most 1048576 characters'],
      ['opt', new Uint8Array(3), 'at most 2 bytes'],
    ];
    for (const [key, value, expected] of bad) {
      expect(() => obj.check({ ...ok, [key]: value }, 'm'), key).toThrow(expected);
    }
    const { opt: _omit, ...withoutOpt } = ok;
    expect(obj.check(withoutOpt, 'm')).toEqual(withoutOpt);
  });

  it('merges the virtual-computer message table into the one validator table', () => {
    for (const t of Object.keys(virtualComputerMessages)) expect(messageSchemas[t]).toBeDefined();
    expect(() => validateMessage({ t: 'ping', id: 1 })).not.toThrow();
  });
});
