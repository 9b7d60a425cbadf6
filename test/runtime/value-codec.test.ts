/**
 * The codec's fast path for values that travel between threads (`encodeValue`), and the batches in which
 * messages cross between a thread and its host (worker-messages.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, encodeValue } from '../../src/runtime/snapshot-codec.ts';
import { packDelivered, packEntries, unpackDelivered, unpackEntries } from '../../src/runtime/worker-messages.ts';
import { UnserializableValueError } from '../../src/runtime/errors.ts';

/** Deep equality with Object.is on primitives, prototypes, key order, typed array kinds and bytes. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null) return Object.is(a, b);
  if (typeof b !== 'object' || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    const v = b as ArrayBufferView;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)) && a.byteOffset % 8 === v.byteOffset % 8;
  }
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Map || a instanceof Set) return same([...(a as Map<unknown, unknown>)], [...(b as Map<unknown, unknown>)]);
  if (a instanceof Number || a instanceof String || a instanceof Boolean) return Object.is(a.valueOf(), (b as Number).valueOf());
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
}

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.double(), fc.integer(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.string({ unit: 'binary' })),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', 'constructor')), tie('value'), { maxKeys: 5 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.float64Array({ maxLength: 5 }),
    fc.int16Array({ maxLength: 5 }).map((a) => a.subarray(Math.min(1, a.length))),
  ),
})).value;

describe('encodeValue: the fast path for values between threads', () => {
  it('decodes to what encodeSnapshot does, for plain data and for everything else', () => {
    fc.assert(
      fc.property(fc.oneof(plain, fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, withNullPrototype: true })), (value) => {
        const fast = decodeSnapshot(encodeValue(value));
        expect(same(fast, decodeSnapshot(encodeSnapshot(value)))).toBe(true);
        expect(same(fast, value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps sharing, cycles, -0, holes and views that share a buffer (through the general path)', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const buffer = new ArrayBuffer(16);
    const [a, b, c, d, e] = decodeSnapshot(encodeValue([[shared, shared], cyclic, -0, [1, , 3], [new Uint8Array(buffer, 0, 8), new Uint8Array(buffer, 4, 8)]])) as [
      { n: number }[],
      Record<string, unknown>,
      number,
      number[],
      Uint8Array[],
    ];
    expect(a[0]).toBe(a[1]);
    expect(b['self']).toBe(b);
    expect(Object.is(c, -0)).toBe(true);
    expect(1 in d).toBe(false);
    e[0]![5] = 9;
    expect(e[1]![1]).toBe(9);
  });

  it('gives each decoded typed array a buffer of its own, whatever the encoded bytes share', () => {
    // Encoded values may share memory (the encoder's buffer, or a frame that carries several): both in one buffer,
    // the second at an odd offset.
    const parts = [encodeValue(new Uint8Array([1, 2, 3])), encodeValue({ x: new Float64Array([1.5]) })];
    const shared = new Uint8Array(parts[0]!.byteLength + 1 + parts[1]!.byteLength);
    shared.set(parts[0]!, 0);
    shared.set(parts[1]!, parts[0]!.byteLength + 1);
    const bytes = [shared.subarray(0, parts[0]!.byteLength), shared.subarray(parts[0]!.byteLength + 1)];
    const u = decodeSnapshot(bytes[0]!) as Uint8Array;
    expect(u.byteOffset).toBe(0);
    expect(u.buffer.byteLength).toBe(3); // decoded ones never do
    expect((decodeSnapshot(bytes[1]!) as { x: Float64Array }).x[0]).toBe(1.5);
  });

  it('refuses what cannot be serialized as encodeSnapshot does, with the path', () => {
    expect(() => encodeValue({ a: [1, () => 2] })).toThrow(UnserializableValueError);
    try {
      encodeValue({ a: [1, Symbol('s')] });
    } catch (err) {
      expect((err as UnserializableValueError).path).toEqual(['a', 1]);
    }
  });
});

describe('message batches between a thread and its host', () => {
  const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => (b.length > 2 ? b.subarray(1) : b));
  it('round-trip outbox entries and delivered messages, in order, bytes included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ to: fc.nat(), seq: fc.maxSafeNat(), prev: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }), bytes }), { maxLength: 20 }),
        (entries) => {
          const batch = packEntries(entries);
          expect(batch.byteOffset).toBe(0);
          expect(batch.byteLength).toBe(batch.buffer.byteLength); // the whole buffer moves
          const back = unpackEntries(batch);
          expect(back.map((e) => ({ ...e, bytes: [...e.bytes] }))).toEqual(entries.map((e) => ({ ...e, bytes: [...e.bytes] })));
          const delivered = entries.map((e) => ({ from: e.to, seq: e.seq, bytes: e.bytes }));
          expect(unpackDelivered(packDelivered(delivered)).map((m) => ({ ...m, bytes: [...m.bytes] }))).toEqual(delivered.map((m) => ({ ...m, bytes: [...m.bytes] })));
        },
      ),
      { numRuns: 300 },
    );
  });
});
