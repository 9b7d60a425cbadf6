// Built-in values held in locals across checkpoints: Map, Set, Date, typed arrays, ArrayBuffer,
// BigInt, undefined, -0, NaN, ±Infinity. The result reveals what JSON alone would hide.
import { checkpoint } from 'ppp2p';

function reveal(v: unknown): unknown {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return '-0';
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
    return v;
  }
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return `Date(${v.toISOString()})`;
  if (v instanceof Map) return { Map: [...v].map(([k, x]) => [reveal(k), reveal(x)]) };
  if (v instanceof Set) return { Set: [...v].map(reveal) };
  if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Array.from(v as unknown as ArrayLike<number | bigint>, reveal) };
  if (v instanceof ArrayBuffer) return { ArrayBuffer: Array.from(new Uint8Array(v)) };
  if (Array.isArray(v)) return { Array: Array.from({ length: v.length }, (_, i) => (i in v ? reveal(v[i]) : 'hole')) };
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

export async function main(): Promise<unknown> {
  const map = new Map<unknown, unknown>([
    ['s', 1],
    [2, 'two'],
    [undefined, null],
    [-0, 'minus zero key'],
  ]);
  const set = new Set<unknown>([1, 'a', NaN, undefined]);
  const date = new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123));
  const bytes = new Uint8Array([0, 1, 255]);
  const floats = new Float64Array([1.5, -0, NaN, Infinity]);
  const ints = new Int32Array([-1, 2147483647]);
  const bigs = new BigInt64Array([1n, -(2n ** 63n)]);
  const buffer = new Uint16Array([258, 772]).buffer;
  const big = 2n ** 80n + 1n;
  const nothing = undefined;
  const negZero = -0;
  const notANumber = NaN;
  const inf = -Infinity;
  const obj = { u: undefined, n: -0, nested: { big: -5n } };
  await checkpoint();
  date.setUTCFullYear(2025);
  map.set('after', big + 1n);
  set.add(bytes.length);
  bytes[0] = 7;
  await checkpoint();
  return reveal({ map, set, date, bytes, floats, ints, bigs, buffer, big, nothing, negZero, notANumber, inf, obj, type: typeof big });
}
