import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Frame, registerFrame, type FrameClass } from '../../src/runtime/frame.ts';
import {
  SNAPSHOT_FORMAT_VERSION,
  decodeSnapshot,
  encodeSnapshot,
  registerClass,
} from '../../src/runtime/snapshot-codec.ts';
import {
  CheckpointError,
  SnapshotFormatError,
  SnapshotLayoutError,
  UnserializableValueError,
} from '../../src/runtime/errors.ts';
import { ThreadContext, type ThreadHost } from '../../src/runtime/thread-context.ts';

function roundTrip<T>(value: T): T {
  return decodeSnapshot(encodeSnapshot(value)) as T;
}

/**
 * Deep equality as a snapshot must keep it: same prototypes, Object.is on primitives (so -0 and
 * NaN count), holes, key order, typed array kinds and bytes, and the same sharing: the pairs seen
 * so far must map one-to-one, so two originals never become one copy or the reverse.
 */
function same(a: unknown, b: unknown, there = new Map<object, unknown>(), back = new Map<unknown, object>()): boolean {
  if (typeof a !== 'object' || a === null) return Object.is(a, b);
  if (typeof b !== 'object' || b === null) return false;
  if (there.has(a) || back.has(b)) return there.get(a) === b && back.get(b) === a;
  there.set(a, b);
  back.set(b, a);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (x: ArrayBufferView | ArrayBuffer): Buffer =>
      x instanceof ArrayBuffer ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    return bytes(a).equals(bytes(b as ArrayBufferView | ArrayBuffer));
  }
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp) return String(a) === String(b) && a.lastIndex === (b as RegExp).lastIndex;
  if (a instanceof Number || a instanceof String || a instanceof Boolean || a instanceof BigInt) {
    return Object.is(a.valueOf(), (b as typeof a).valueOf());
  }
  if (a instanceof Map || a instanceof Set) {
    const xs = [...(a as Map<unknown, unknown>).entries()];
    const ys = [...(b as Map<unknown, unknown>).entries()];
    return xs.length === ys.length && xs.every(([k, v], i) => same(k, ys[i]![0], there, back) && same(v, ys[i]![1], there, back));
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  const keys = (x: object): string[] => (x instanceof Error ? Object.getOwnPropertyNames(x) : Object.keys(x));
  const ka = keys(a);
  const kb = keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], there, back));
}

function expectSame(actual: unknown, expected: unknown): void {
  if (!same(expected, actual)) expect(actual).toStrictEqual(expected); // shows a readable diff
  expect(same(expected, actual)).toBe(true);
}

function unserializable(value: unknown): UnserializableValueError {
  try {
    encodeSnapshot(value);
  } catch (err) {
    expect(err).toBeInstanceOf(UnserializableValueError);
    return err as UnserializableValueError;
  }
  throw new Error('encodeSnapshot accepted the value');
}

function decodeError(bytes: Uint8Array): Error {
  try {
    decodeSnapshot(bytes);
  } catch (err) {
    return err as Error;
  }
  throw new Error('decodeSnapshot accepted the bytes');
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}
registerClass(Point, 'test/runtime/snapshot-codec.test.ts#Point');

let constructed = 0;
class Counted {
  count = 0;
  constructor() {
    constructed++;
  }
}
registerClass(Counted, 'test/runtime/snapshot-codec.test.ts#Counted');

/** An accessor on the prototype and an own field of the same name, as `useDefineForClassFields` makes. */
class Guarded {
  get level(): number {
    return -1;
  }
  set level(_v: number) {
    throw new Error('the setter must not run on decode');
  }
  constructor() {
    Object.defineProperty(this, 'level', { value: 3, writable: true, enumerable: true, configurable: true });
  }
}
registerClass(Guarded, 'test/runtime/snapshot-codec.test.ts#Guarded');

class Node2 {
  constructor(
    public value: number,
    public next: Node2 | null,
    public parent: Node2 | null = null,
  ) {}
}
registerClass(Node2, 'test/runtime/snapshot-codec.test.ts#Node2');

class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    message: string,
    public field: string,
  ) {
    super(message);
  }
}
registerClass(ValidationError, 'test/runtime/snapshot-codec.test.ts#ValidationError');

class Stack extends Array<number> {}
registerClass(Stack, 'test/runtime/snapshot-codec.test.ts#Stack');

function frameClass(id: string, layout: string, fields: string[]): FrameClass {
  return class extends Frame {
    static id = id;
    static layout = layout;
    static fields = fields;
    static sites = [0, 12, 20];
    static file = 'test/runtime/work.ts';
    static fn = async (): Promise<unknown> => undefined;
  };
}

const work$Frame = frameClass('test/runtime/work.ts#work', 'layout-a', ['n', 'acc', 'conn', 'pop']);
registerFrame(work$Frame);
const method$Frame = frameClass('test/runtime/work.ts#Island.step', 'layout-m', ['g']);
registerFrame(method$Frame);

function frame(cls: FrameClass, pc: number, values: Record<string, unknown>): Frame {
  return Object.assign(new cls(), { pc }, values);
}

describe('snapshot codec: values round-trip', () => {
  it('keeps plain objects, arrays and nested combinations', () => {
    const value = { a: 1, b: 'two', c: [1, [2, [3, { d: true, e: false }]]], f: {}, g: [], h: null, long: 'x'.repeat(5000) };
    expectSame(roundTrip(value), value);
  });

  it('keeps undefined apart from null and from a missing key, also inside arrays', () => {
    const decoded = roundTrip({ u: undefined, n: null, list: [undefined, null, 1] });
    expect(Object.keys(decoded)).toEqual(['u', 'n', 'list']);
    expect(decoded.u).toBeUndefined();
    expect(decoded.n).toBeNull();
    expect('missing' in decoded).toBe(false);
    expect(decoded.list).toHaveLength(3);
    expect(0 in decoded.list && decoded.list[0] === undefined).toBe(true);
    expect(decoded.list[1]).toBeNull();
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it('keeps -0, NaN, the infinities and numbers of every size exactly', () => {
    const numbers = [-0, 0, NaN, Infinity, -Infinity, 1.5, -1e-300, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE];
    const decoded = roundTrip({ numbers, alone: -0 });
    numbers.forEach((n, i) => expect(Object.is(decoded.numbers[i], n)).toBe(true));
    expect(Object.is(decoded.alone, -0)).toBe(true);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('keeps bigints of every size, sign included', () => {
    const bigints = [0n, 5n, -5n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n), 3n ** 200n, -(7n ** 150n)];
    expect(roundTrip(bigints)).toEqual(bigints);
  });

  it('keeps strings with unpaired surrogates, as values and as keys', () => {
    const lone = 'a\uD800b';
    const long = `${'é'.repeat(100)}\uDC00${'z'.repeat(100)}`;
    const value = { short: lone, long, [lone]: 1, ok: '😀 ünïcödé' };
    const decoded = roundTrip(value);
    expect(decoded.short).toBe(lone);
    expect(decoded.long).toBe(long);
    expect(decoded[lone]).toBe(1);
    expect(decoded.ok).toBe(value.ok);
  });

  it('keeps Maps and Sets with their order and their object keys', () => {
    const key = { k: 1 };
    const value = { m: new Map<unknown, unknown>([['b', 1], [key, 'obj'], [3, new Set([1, 'x', key])]]), s: new Set([3, 1, 2]) };
    const decoded = roundTrip(value);
    expectSame(decoded, value);
    const [, decodedKey] = [...decoded.m.keys()];
    expect(decoded.m.get(decodedKey)).toBe('obj');
    expect((decoded.m.get(3) as Set<unknown>).has(decodedKey)).toBe(true);
  });

  it('keeps Dates, invalid ones too, and RegExps with flags and lastIndex', () => {
    const re = /a+(b)?/giu;
    re.lastIndex = 4;
    const value = { d: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 123)), old: new Date(-1e13), bad: new Date(NaN), re, lone: new RegExp('x\uD800') };
    expectSame(roundTrip(value), value);
  });

  it('keeps every kind of typed array, DataView, Buffer and ArrayBuffer as raw bytes', () => {
    const f64 = new Float64Array(1000).map((_, i) => (i % 3 === 0 ? -0 : i / 7));
    f64[1] = NaN;
    const value = {
      i8: Int8Array.of(-128, 127),
      u8: Uint8Array.of(0, 255),
      u8c: Uint8ClampedArray.of(0, 255),
      i16: Int16Array.of(-32768, 32767),
      u16: Uint16Array.of(65535),
      i32: Int32Array.of(-(2 ** 31)),
      u32: Uint32Array.of(2 ** 32 - 1),
      f32: Float32Array.of(Math.fround(1.1), -0, Infinity),
      f64,
      i64: BigInt64Array.of(-(2n ** 63n), 1n),
      u64: BigUint64Array.of(2n ** 64n - 1n),
      dv: new DataView(Uint8Array.of(1, 2, 3, 4).buffer, 1, 2),
      buf: Buffer.from('héllo'),
      ab: Uint8Array.of(9, 8, 7).buffer,
      empty: new Float64Array(0),
    };
    const decoded = roundTrip(value);
    expectSame(decoded, value);
    expect(decoded.buf).toBeInstanceOf(Buffer);
    expect(decoded.buf.toString()).toBe('héllo');
  });

  it('writes a typed array as its raw bytes plus a few bytes of framing', () => {
    const f64 = new Float64Array(131072).map((_, i) => Math.sin(i));
    const bytes = encodeSnapshot({ f64 });
    expect(bytes.length).toBeGreaterThanOrEqual(f64.byteLength);
    expect(bytes.length).toBeLessThan(f64.byteLength + 64);
  });

  it('copies only the bytes a view reaches, not its whole backing buffer', () => {
    const big = new Uint8Array(1 << 20).fill(7);
    const window = big.subarray(1000, 1016);
    const bytes = encodeSnapshot({ window });
    expect(bytes.length).toBeLessThan(200);
    const decoded = decodeSnapshot(bytes) as { window: Uint8Array };
    expect([...decoded.window]).toEqual([...window]);
  });

  it('keeps views that share memory sharing it, with their alignment', () => {
    const buffer = new ArrayBuffer(64);
    const all = new Float64Array(buffer);
    const bytes = new Uint8Array(buffer, 3, 20);
    const tail = all.subarray(2, 6);
    all.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const decoded = roundTrip({ all, bytes, tail, buffer });
    expectSame(decoded, { all, bytes, tail, buffer });
    decoded.tail[0] = 42;
    expect(decoded.all[2]).toBe(42);
    expect(decoded.all.buffer).toBe(decoded.buffer);
    expect(decoded.bytes.buffer).toBe(decoded.buffer);
  });

  it('keeps views of one buffer that do not overlap as separate copies of just their bytes', () => {
    const buffer = new ArrayBuffer(1 << 16);
    const a = new Float64Array(buffer, 8, 2);
    const b = new Float64Array(buffer, 60000, 2);
    a.set([1, 2]);
    b.set([3, 4]);
    const bytes = encodeSnapshot({ a, b });
    expect(bytes.length).toBeLessThan(200);
    const decoded = decodeSnapshot(bytes) as { a: Float64Array; b: Float64Array };
    expect([...decoded.a, ...decoded.b]).toEqual([1, 2, 3, 4]);
  });

  it('keeps boxed primitives, null-prototype objects and an own __proto__ key', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, nested: [1] });
    const proto = JSON.parse('{"__proto__": {"polluted": true}, "after": 2}') as Record<string, unknown>;
    const value = { n: Object(-0) as unknown, s: Object('str') as unknown, b: Object(false) as unknown, big: Object(10n) as unknown, bare, proto };
    const decoded = roundTrip(value);
    expectSame(decoded, value);
    expect(Object.getPrototypeOf(decoded.proto)).toBe(Object.prototype);
    expect(Object.keys(decoded.proto)).toEqual(['__proto__', 'after']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps the holes of sparse arrays', () => {
    const sparse = [1, , 3, , undefined];
    sparse.length = 8;
    const decoded = roundTrip(sparse);
    expect(decoded).toHaveLength(8);
    expect([0, 1, 2, 3, 4, 5].map((i) => i in decoded)).toEqual([true, false, true, false, true, false]);
  });

  it('restores instances of registered classes with their prototype, without running the constructor', () => {
    const counted = new Counted();
    counted.count = 5;
    const before = constructed;
    const decoded = roundTrip({ p: new Point(3, 4), counted, guarded: new Guarded() });
    expect(decoded.p).toBeInstanceOf(Point);
    expect(decoded.p.norm()).toBe(5);
    expect(decoded.counted).toBeInstanceOf(Counted);
    expect(decoded.counted.count).toBe(5);
    expect(constructed).toBe(before);
    expect(decoded.guarded).toBeInstanceOf(Guarded);
    expect(decoded.guarded.level).toBe(3);
  });

  it('restores errors with class, message, stack, cause and own fields', () => {
    const cause = new RangeError('inner');
    const value = {
      plain: new TypeError('boom', { cause }),
      custom: new ValidationError('bad field', 'email'),
      aggregate: new AggregateError([cause], 'many'),
    };
    const decoded = roundTrip(value);
    expectSame(decoded, value);
    expect(decoded.plain).toBeInstanceOf(TypeError);
    expect(decoded.plain.cause).toBe(decoded.aggregate.errors[0]);
    expect(decoded.custom).toBeInstanceOf(ValidationError);
    expect(decoded.custom.stack).toBe(value.custom.stack);
    expect(Object.keys(decoded.custom)).toEqual(Object.keys(value.custom));
  });

  it('keeps an error of an unregistered class as its nearest built-in class, name and fields included', () => {
    class NetError extends TypeError {
      code = 'ECONNRESET';
    }
    const err = new NetError('reset');
    const decoded = roundTrip(err);
    expect(decoded).toBeInstanceOf(TypeError);
    expect(decoded.message).toBe('reset');
    expect(decoded.code).toBe('ECONNRESET');
    expect(decoded.stack).toBe(err.stack);
  });
});

describe('snapshot codec: identity', () => {
  it('decodes the same object twice as the same object twice', () => {
    const shared = { s: [1, 2] };
    const f = new Float64Array(4);
    const p = new Point(1, 2);
    const decoded = roundTrip({ a: shared, b: [shared, shared.s], m: new Map([[shared, p]]), set: new Set([p]), f, g: f, p });
    expect(decoded.b[0]).toBe(decoded.a);
    expect(decoded.b[1]).toBe(decoded.a.s);
    expect(decoded.m.get(decoded.a)).toBe(decoded.p);
    expect(decoded.set.has(decoded.p)).toBe(true);
    expect(decoded.g).toBe(decoded.f);
  });

  it('keeps cycles through objects, arrays, Maps, Sets and class instances', () => {
    const obj: Record<string, unknown> = { name: 'o' };
    obj['self'] = obj;
    const arr: unknown[] = [1];
    arr.push(arr);
    const map = new Map<string, unknown>();
    map.set('me', map);
    const set = new Set<unknown>();
    set.add(set);
    const root = new Node2(1, null);
    root.next = new Node2(2, null, root);
    const decoded = roundTrip({ obj, arr, map, set, root });
    expect(decoded.obj['self']).toBe(decoded.obj);
    expect(decoded.arr[1]).toBe(decoded.arr);
    expect(decoded.map.get('me')).toBe(decoded.map);
    expect(decoded.set.has(decoded.set)).toBe(true);
    expect(decoded.root.next!.parent).toBe(decoded.root);
    expect(decoded.root.next).toBeInstanceOf(Node2);
  });

  it('keeps structures far deeper than the stack, cycles across the depth included', () => {
    let list: Node2 | null = null;
    let last: Node2 | null = null;
    for (let i = 0; i < 50_000; i++) {
      list = new Node2(i, list);
      last ??= list;
    }
    last!.parent = list; // the tail points back at the head, 50 000 links away
    let nested: unknown = 'core';
    for (let i = 0; i < 20_000; i++) nested = i % 2 === 0 ? [nested] : new Map([['k', nested]]);
    const decoded = roundTrip({ list, nested });
    let count = 0;
    let node = decoded.list;
    for (; node !== null; node = node.next) {
      expect(node.value).toBe(49_999 - count++);
      if (node.next === null) break;
    }
    expect(count).toBe(50_000);
    expect(node!.parent).toBe(decoded.list);
    let inner = decoded.nested;
    for (let i = 19_999; i >= 0; i--) inner = i % 2 === 0 ? (inner as unknown[])[0] : (inner as Map<string, unknown>).get('k');
    expect(inner).toBe('core');
  });
});

describe('snapshot codec: frames', () => {
  it('restores frames by id with their program counter, fields and self', () => {
    const self = { island: 3 };
    const top = frame(work$Frame, 2, { n: 10, acc: [1, 2], conn: undefined, pop: new Map([['a', 1]]) });
    const method = frame(method$Frame, 1, { g: 7, self });
    const decoded = roundTrip({ format: 1, frames: [top, method], thread: ThreadContext.initialState(0, 1) });
    const [a, b] = decoded.frames as [Frame, Frame];
    expect(a).toBeInstanceOf(work$Frame);
    expect(a.pc).toBe(2);
    expectSame({ ...a }, { ...top });
    expect(b).toBeInstanceOf(method$Frame);
    expect(b['g']).toBe(7);
    expect(b['self']).toEqual(self);
  });

  it('restores self when the frame declares it as a field', () => {
    const cls = frameClass('test/runtime/work.ts#Island.run', 'layout-s', ['self', 'g']);
    registerFrame(cls);
    const island = new Point(1, 2);
    const decoded = roundTrip({ frames: [frame(cls, 1, { self: island, g: 3 })], island });
    expect(decoded.frames[0]!['self']).toBe(decoded.island);
  });

  it('encodes only the declared fields of a frame', () => {
    const f = frame(work$Frame, 1, { n: 1, acc: 2, conn: 3, pop: 4, scratch: () => 'not a field' });
    const decoded = roundTrip(f);
    expect(Object.keys(decoded).sort()).toEqual(['acc', 'conn', 'n', 'pc', 'pop']);
  });

  it('encodes a frame as a frame even if its class was also given to registerClass', () => {
    const cls = frameClass('test/runtime/work.ts#both', 'layout-b', ['x']);
    registerFrame(cls);
    registerClass(cls, 'test/runtime/work.ts#both$Frame');
    const decoded = roundTrip(frame(cls, 1, { x: 1 }));
    expect(decoded).toBeInstanceOf(cls);
    expect(decoded['x']).toBe(1);
  });

  it('refuses a frame whose function no loaded module declares', () => {
    const gone = frameClass('test/runtime/gone.ts#vanished', 'layout-g', ['x']); // never registered
    const err = decodeError(encodeSnapshot({ frames: [frame(gone, 1, { x: 1 })] }));
    expect(err).toBeInstanceOf(SnapshotLayoutError);
    expect(err.message).toContain('vanished()');
    expect(err.message).toContain('test/runtime/gone.ts#vanished');
    expect(err.message).toContain('no loaded module declares');
    expect(err.message).toContain('restart it from its arguments');
  });

  it('refuses a frame whose function changed since the snapshot, naming both layouts', () => {
    const id = 'test/runtime/changed.ts#evolve';
    const old = frameClass(id, 'layout-old', ['x']);
    const bytes = encodeSnapshot({ frames: [frame(old, 1, { x: 1 })] });
    registerFrame(frameClass(id, 'layout-new', ['x', 'y']));
    const err = decodeError(bytes);
    expect(err).toBeInstanceOf(SnapshotLayoutError);
    expect(err.message).toContain('evolve()');
    expect(err.message).toContain('layout-old');
    expect(err.message).toContain('layout-new');
    expect(err.message).toMatch(/Resume the thread with the build it was started from, or restart it from its arguments/);
  });

  it('refuses a snapshot holding a class that no loaded module registers', () => {
    class Temporary {
      v = 1;
    }
    registerClass(Temporary, 'test#TemporaryA');
    const bytes = encodeSnapshot({ t: new Temporary() });
    // The same snapshot as a build without that class would see it: rename the id in place.
    const at = Buffer.from(bytes).indexOf('test#TemporaryA');
    bytes[at + 'test#Temporary'.length] = 'B'.charCodeAt(0);
    const err = decodeError(bytes);
    expect(err).toBeInstanceOf(SnapshotLayoutError);
    expect(err.message).toContain("class 'test#TemporaryB'");
    expect(err.message).toContain('restart the thread from its arguments');
  });
});

describe('snapshot codec: values that cannot be serialized', () => {
  it('names a socket in a frame field and the path to it', () => {
    const socket = new net.Socket();
    const err = unserializable({ format: 1, frames: [frame(work$Frame, 1, { n: 1 }), frame(work$Frame, 2, { conn: socket })] });
    expect(err.what).toBe('a Socket (a live EventEmitter)');
    expect(err.path).toEqual(['frames', 1, 'conn']);
    socket.destroy();
  });

  it('names a function deep inside a value and the path to it', () => {
    const handler = (): number => 1;
    const err = unserializable({ frames: [frame(work$Frame, 1, { pop: [{}, {}, {}, { fn: handler }] })] });
    expect(err.what).toBe("a function 'handler'");
    expect(err.path).toEqual(['frames', 0, 'pop', 3, 'fn']);
  });

  it.each([
    ['an anonymous function', [(() => () => 1)()]],
    ["an async function 'load'", [async function load(): Promise<void> {}]],
    ["a class 'Unlisted'", [class Unlisted {}]],
    ['a Promise', [new Promise(() => {})]],
    ['a Promise', [Promise.resolve(1)]],
    ['a Symbol(tag)', [Symbol('tag')]],
    ['a WeakMap', [new WeakMap()]],
    ['a WeakSet', [new WeakSet()]],
    ['an EventEmitter (a live EventEmitter)', [new EventEmitter()]],
    ['a generator object (a suspended function call)', [(function* gen() {})()]],
    ['a SharedArrayBuffer (memory shared with other threads)', [new SharedArrayBuffer(8)]],
  ])('refuses %s', (what, [value]) => {
    const err = unserializable({ state: { list: [0, value] } });
    expect(err.what).toBe(what);
    expect(err.path).toEqual(['state', 'list', 1]);
  });

  it('refuses a worker thread', async () => {
    const worker = new Worker('', { eval: true });
    try {
      const err = unserializable({ worker });
      expect(err.what).toBe('a Worker (a live EventEmitter)');
      expect(err.path).toEqual(['worker']);
    } finally {
      await worker.terminate();
    }
  });

  it('refuses an instance of an unregistered class, saying how to register it', () => {
    class Cache {
      items = [];
    }
    const err = unserializable({ frames: [frame(work$Frame, 1, { acc: new Map([['hot', new Cache()]]) })] });
    expect(err.what).toContain("an instance of class 'Cache', which is not registered");
    expect(err.what).toContain('`ppp2p build`');
    expect(err.what).toContain('registerClass(Cache');
    expect(err.path).toEqual(['frames', 0, 'acc', 'get("hot")']);
  });

  it('refuses instances of registered subclasses of built-ins with internal state', () => {
    const err = unserializable({ s: Stack.from([1, 2]) });
    expect(err.what).toContain("class 'Stack', a subclass of Array");
    expect(err.path).toEqual(['s']);
  });

  it('refuses instances of classes registered with privateState, and of their subclasses, naming the class that has them', () => {
    class Wallet {
      #coins = 3;
      get coins(): number {
        return this.#coins;
      }
    }
    class Purse extends Wallet {
      label = 'p';
    }
    class Gate {
      #check(): boolean {
        return true;
      }
      open(): boolean {
        return this.#check();
      }
    }
    registerClass(Wallet, 'test#Wallet', { privateState: true });
    registerClass(Purse, 'test#Purse');
    registerClass(Gate, 'test#Gate', { privateState: 'methods' });
    const own = unserializable({ w: [new Wallet()] });
    expect(own.what).toBe(
      "an instance of class 'Wallet', which has #private fields that a snapshot cannot carry (use a TypeScript `private` field instead)",
    );
    expect(own.path).toEqual(['w', 0]);
    expect(unserializable({ p: new Purse() }).what).toBe(
      "an instance of class 'Purse', which has #private fields (inherited from class 'Wallet') that a snapshot cannot carry " +
        '(use a TypeScript `private` field instead)',
    );
    expect(unserializable({ g: new Gate() }).what).toContain("class 'Gate', which has #private methods that a snapshot cannot carry");
    // The class itself, held as a value, still travels by id.
    expect(roundTrip({ cls: Wallet }).cls).toBe(Wallet);
  });

  it('points into Sets, Map keys, class fields and outlined deep values', () => {
    expect(unserializable({ s: new Set([1, () => 2]) }).path).toEqual(['s', 1]);
    expect(unserializable({ m: new Map([[Symbol('k'), 1]]) }).path).toEqual(['m', 'keys()[0]']);
    expect(unserializable({ p: new Point(1, (() => 2) as unknown as number) }).path).toEqual(['p', 'y']);
    let deep: unknown = { bad: new WeakMap() };
    for (let i = 0; i < 300; i++) deep = [deep];
    const path = unserializable({ m: new Map([['k', deep]]) }).path;
    expect(path).toEqual(['m', 'get("k")', ...new Array<number>(300).fill(0), 'bad']);
  });

  it('lets the thread name the variable and the source line of a bad value', async () => {
    let error: unknown;
    const host: ThreadHost = { checkpoint: async () => {}, progress: () => {} };
    const ctx = new ThreadContext(ThreadContext.initialState(0, 1), host, { everyN: 1 });
    ctx.stack.push(frame(work$Frame, 1, { n: 1 }), frame(work$Frame, 2, { conn$1: undefined, pop: [new net.Socket()] }));
    await ctx.snapshot(1).catch((err: unknown) => (error = err));
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message).toContain("variable 'pop'");
    expect(message).toContain('test/runtime/work.ts:20');
    expect(message).toContain('a Socket');
    expect(message).toContain('pop[0]');
    ((ctx.stack[1] as Frame)['pop'] as net.Socket[])[0]!.destroy();
  });
});

describe('snapshot codec: bytes that are not a snapshot of this format', () => {
  const good = encodeSnapshot({ format: 1, frames: [frame(work$Frame, 1, { n: 1, acc: 'x'.repeat(100) })], thread: { a: [1, 2, 3] } });

  it('starts with a magic number and the format version', () => {
    expect(Buffer.from(good.subarray(0, 4)).toString('latin1')).toBe('PPSN');
    expect((good[4]! << 8) | good[5]!).toBe(SNAPSHOT_FORMAT_VERSION);
  });

  it('refuses other bytes, naming what it found', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(1, 2, 3), Buffer.from('{"format":1,"frames":[]}'), new Uint8Array(100)]) {
      const err = decodeError(bytes);
      expect(err).toBeInstanceOf(SnapshotFormatError);
      expect(err.message).toMatch(/^Not a ppp2p snapshot: the bytes start with \[/);
    }
    expect(decodeError('PPSN' as unknown as Uint8Array)).toBeInstanceOf(SnapshotFormatError);
  });

  it('refuses another format version, naming both versions', () => {
    const bytes = good.slice();
    bytes[5] = SNAPSHOT_FORMAT_VERSION + 1;
    const err = decodeError(bytes);
    expect(err).toBeInstanceOf(SnapshotFormatError);
    expect(err.message).toContain(`version ${SNAPSHOT_FORMAT_VERSION + 1} is not supported`);
    expect(err.message).toContain(`reads format version ${SNAPSHOT_FORMAT_VERSION}`);
  });

  it('refuses every truncation and extra trailing bytes', () => {
    for (let length = 0; length < good.length; length++) {
      const err = decodeError(good.subarray(0, length));
      expect(err).toBeInstanceOf(SnapshotFormatError);
      if (length >= 4) expect(err.message).toContain('Snapshot is truncated');
    }
    const longer = new Uint8Array(good.length + 3);
    longer.set(good);
    expect(decodeError(longer).message).toContain('3 unexpected bytes');
  });

  it('never fails with anything but a snapshot error on corrupted bodies', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const bytes = good.slice();
        for (const [at, byte] of flips) bytes[10 + (at % (bytes.length - 10))] = byte;
        try {
          decodeSnapshot(bytes);
        } catch (err) {
          expect(err instanceof SnapshotFormatError || err instanceof SnapshotLayoutError).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('does not read snapshots written as plain msgpack with a forged header', () => {
    const forged = Uint8Array.from([...good.subarray(0, 10)]);
    const body = Buffer.from([0x93, 0x90, 0x90, 0x90]); // [[], [], []]: three items, not four
    const bytes = new Uint8Array(10 + body.length);
    bytes.set(forged);
    bytes.set(body, 10);
    new DataView(bytes.buffer).setUint32(6, body.length);
    expect(decodeError(bytes).message).toContain('Snapshot is malformed');
  });
});

describe('snapshot codec: properties', () => {
  const anything = fc.anything({
    maxDepth: 4,
    maxKeys: 5,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
    withObjectString: true,
    stringUnit: 'binary',
    key: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', 'constructor', 'toString')),
  });

  it('round-trips random nested values deeply equal', () => {
    fc.assert(
      fc.property(anything, (value) => {
        expect(same(value, roundTrip(value))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips random sharing and cycles between objects', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ maxLength: 3 }), anything, { maxKeys: 3 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ minLength: 1, maxLength: 3 })), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (objects, links, picks) => {
          for (const [from, to, key] of links) objects[from % objects.length]![`link:${key}`] = objects[to % objects.length];
          const root = { objects, picks: picks.map((i) => objects[i % objects.length]) };
          expect(same(root, roundTrip(root))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('registerClass', () => {
  it('refuses a non-class or an empty id', () => {
    expect(() => registerClass({} as never, 'x#Y')).toThrow(TypeError);
    expect(() => registerClass(Point, '')).toThrow(/id must be a non-empty string/);
  });

  it('lets a module evaluated twice register its id again', () => {
    class Version1 {
      v = 1;
    }
    class Version2 {
      v = 2;
    }
    registerClass(Version1, 'test#Reloaded');
    const bytes = encodeSnapshot(new Version1());
    registerClass(Version2, 'test#Reloaded');
    expect(decodeSnapshot(bytes)).toBeInstanceOf(Version2);
    expect(decodeSnapshot(encodeSnapshot(new Version1()))).toBeInstanceOf(Version2);
  });
});

describe('registered classes held as values', () => {
  it('travel by id and come back as the same constructor', () => {
    const back = decodeSnapshot(encodeSnapshot({ kind: Point, kinds: [Point, Counted, Point] })) as { kind: unknown; kinds: unknown[] };
    expect(back.kind).toBe(Point);
    expect(back.kinds).toEqual([Point, Counted, Point]);
  });

  it('still refuses an unregistered class or a plain function', () => {
    class Unregistered {}
    expect(() => encodeSnapshot({ kind: Unregistered })).toThrow(UnserializableValueError);
    expect(() => encodeSnapshot({ f: () => 1 })).toThrow(UnserializableValueError);
  });
});
