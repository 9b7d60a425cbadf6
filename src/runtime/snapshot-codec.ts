/**
 * Snapshot codec: the bytes that carry a suspended virtual thread from one peer to another.
 *
 * ```ts
 * registerClass(Tour, 'samples/tsp/tour.ts#Tour');       // emitted by `ppp2p build` for every top-level class
 * const bytes = encodeSnapshot({ format: 1, frames, thread });
 * const { frames, thread } = decodeSnapshot(bytes) as Snapshot;
 * ```
 *
 * Format (version {@link SNAPSHOT_FORMAT_VERSION}):
 * ```
 * header  'PPSN' | u16 format version | u32 body length          (10 bytes, big-endian)
 * body    msgpack (msgpackr, records on) of [classIds, segments, outlined, root]
 * ```
 * `root` is the value itself after the writer below rewrote it. Plain objects, arrays, strings,
 * numbers, booleans, null, undefined and bigints are plain msgpack; every other value becomes one
 * msgpack extension (type {@link EXT}) holding `[kind, ...payload]` (the kinds are listed below).
 * The writer copies a container only when something inside it had to be rewritten, so plain data
 * goes to msgpackr untouched and typed arrays are copied as raw bytes.
 *
 * Invariants the reader relies on:
 * - Every object gets a number when the writer first meets it (discovery order). A later
 *   occurrence of the same object is written as `[REF, n]`, so shared references and cycles
 *   survive. The reader numbers the objects it rebuilds in the same order.
 * - A `[kind, ...]` extension never nests more than {@link OUTLINE_DEPTH} objects deep: a deeper
 *   object is written into `outlined` and referenced as `[OUTLINED, slot]`, then walked on its own
 *   once the walk that found it is done (both sides keep the same first-in, first-out order).
 *   Deep structures such as long linked lists therefore never overflow the stack of msgpackr
 *   or of the walks here.
 * - Typed arrays, DataViews and ArrayBuffers do not carry their bytes: the bytes of each backing
 *   ArrayBuffer go into `segments`, one segment per run of overlapping views, so views that alias
 *   the same memory still alias it after decoding, and bytes no view reaches are never copied.
 *
 * What cannot be serialized (functions, Promises, Symbols, weak collections, live resources such
 * as sockets, instances of classes that were never registered) makes {@link encodeSnapshot} throw an
 * {@link UnserializableValueError} whose `path` leads from the root to the value; thread-context.ts
 * turns that path into a message naming the variable and its source line.
 *
 * Not kept, by design: symbol-keyed and non-enumerable properties (except an error's message,
 * stack, cause and errors), `#private` fields of instances of classes not registered with
 * `privateState` (JavaScript offers no way to read them; `ppp2p build` registers every class that
 * declares #private members so, and their instances are refused instead), named properties added to arrays or to Maps, Sets, Dates and other built-ins (a RegExp
 * match's `index`), getters (their current value is kept), and the resizability of ArrayBuffers.
 * Instances of unregistered subclasses of Error come back as their nearest built-in error class.
 */
import { EventEmitter } from 'node:events';
import { Packr, RESERVE_START_SPACE, Unpackr, addExtension } from 'msgpackr';
import { Frame, frameClassById, isFrameClass, type FrameClass } from './frame.ts';
import { SnapshotFormatError, SnapshotLayoutError, UnserializableValueError } from './errors.ts';

export { UnserializableValueError };

/** Version of the byte format below; a decoder refuses every other version. */
export const SNAPSHOT_FORMAT_VERSION = 1;

const MAGIC = [0x50, 0x50, 0x53, 0x4e] as const; // 'PPSN'
const HEADER_BYTES = 10;
/** msgpack extension type of every rewritten value (1..100 are left to applications by msgpackr). */
const EXT = 0x50;
/** Objects nested deeper than this inside one walk are outlined (see the module comment). */
const OUTLINE_DEPTH = 100;

// Kinds: the first item of an extension. Payloads, after the kind:
const REF = 0; //          n: discovery number of an object written earlier
const HOLE = 1; //         (none): a missing element of a sparse array
const NEG_ZERO = 2; //     (none): -0, which msgpack writes as 0
const STRING16 = 3; //     Uint16Array of UTF-16 code units: a string with an unpaired surrogate
const OBJECT = 4; //       nullPrototype (0|1), props: a plain object msgpack cannot carry as a map
const CLASS = 5; //        class index, props: an instance of a registered class
const ERROR = 6; //        class index or built-in error name, hidden props, props
const FRAME = 7; //        frame id, layout, pc, the values of `fields` in order [, self]
const MAP = 8; //          key, value, key, value, ...
const SET = 9; //          element, element, ...
const DATE = 10; //        time value (NaN for an invalid date)
const REGEXP = 11; //      source, flags, lastIndex
const BOXED = 12; //       primitive: new Number(1), new String('a'), Object(1n), ...
const VIEW = 13; //        segment, byte offset in segment, length, view kind
const ARRAY_BUFFER = 14; // segment, byte offset in segment (0), byte length
const OUTLINED = 15; //    slot in `outlined`
const CLASS_REF = 16; //   class index: a registered class itself (a constructor held as a value)

/** A rewritten value: msgpackr writes it as extension {@link EXT} and reads it back as a Tag. */
interface Tag {
  readonly items: unknown[];
}
const Tag = sharedTagClass();
const HOLE_TAG = new Tag([HOLE]);
const NEG_ZERO_TAG = new Tag([NEG_ZERO]);

/**
 * If this module is evaluated twice in one process (two copies of ppp2p, a bundled assembly, a
 * test that resets modules), the copies share one Tag class: msgpackr keeps one extension table per
 * process, and the last copy to register would otherwise make the others read foreign Tags.
 */
function sharedTagClass(): new (items: unknown[]) => Tag {
  const key = Symbol.for('ppp2p.snapshot-codec.Tag');
  const shared = globalThis as { [key: symbol]: (new (items: unknown[]) => Tag) | undefined };
  const cls = (shared[key] ??= class Tag {
    constructor(readonly items: unknown[]) {}
  });
  addExtension({ Class: cls, type: EXT, write: (tag: Tag) => tag.items, read: (items: unknown) => new cls(items as unknown[]) });
  return cls;
}

// One writer and one reader for the process: msgpackr keeps no state between messages unless asked
// to (`sequential`, shared structures), so every snapshot is self-contained.
const packr = new Packr({ useRecords: true, moreTypes: true, useBigIntExtension: true, useToJSON: false });
const unpackr = new Unpackr({
  useRecords: true,
  moreTypes: true,
  mapsAsObjects: true,
  copyBuffers: true,
  // msgpackr's own reference extensions are never written here; refuse them in input.
  structuredClone: false,
});

const hasOwn = Object.hasOwn as (o: object, key: PropertyKey) => boolean;
const { getPrototypeOf } = Object;
/** Whether a string can go through UTF-8 unchanged (no unpaired surrogate). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

// ---------------------------------------------------------------------------------------------
// Class registry

interface ClassEntry {
  readonly id: string;
  readonly ctor: abstract new (...args: never[]) => unknown;
  readonly proto: object;
  /** The built-in whose internal slots instances carry (a subclass of Map, Array, ...): unsupported. */
  readonly exoticBase: string | undefined;
  readonly isError: boolean;
  /** Frame classes are encoded as frames even if someone also registered them here. */
  readonly isFrame: boolean;
  /** Whether plain assignment would run a setter or hit a read-only property; computed on first decode. */
  needsDefine?: boolean;
  /** The class declares #private instance members (registerClass option `privateState`). */
  readonly privateState: boolean | 'methods';
  /** The nearest class in the prototype chain with #private members (null if none); computed on first encode. */
  privateFrom?: ClassEntry | null;
}

/** Options of {@link registerClass}. */
export interface RegisterClassOptions {
  /**
   * The class declares #private instance fields (true), or only #private methods or accessors ('methods'): a
   * snapshot cannot carry them (a restored instance has no #private brand), so its instances, and its
   * subclasses', are refused at a checkpoint with an UnserializableValueError instead of coming back broken.
   * `ppp2p build` sets it from the class declaration.
   */
  privateState?: boolean | 'methods';
}

/**
 * The class table lives on `globalThis` under a registered symbol, like the exports registry: an
 * application that ends up with two copies of the runtime still has one table.
 */
const { classesById, classesByProto } = ((globalThis as { [key: symbol]: unknown })[Symbol.for('ppp2p.snapshot-codec.classes')] ??= {
  classesById: new Map<string, ClassEntry>(),
  classesByProto: new Map<object, ClassEntry>(),
}) as { classesById: Map<string, ClassEntry>; classesByProto: Map<object, ClassEntry> };

/** Prototypes of built-ins whose instances hold state that own properties do not show. */
const EXOTIC_PROTOS = new Map<object, string>([
  [Array.prototype, 'Array'],
  [Map.prototype, 'Map'],
  [Set.prototype, 'Set'],
  [WeakMap.prototype, 'WeakMap'],
  [WeakSet.prototype, 'WeakSet'],
  [Date.prototype, 'Date'],
  [RegExp.prototype, 'RegExp'],
  [Promise.prototype, 'Promise'],
  [ArrayBuffer.prototype, 'ArrayBuffer'],
  [DataView.prototype, 'DataView'],
  [getPrototypeOf(Uint8Array.prototype) as object, 'TypedArray'],
  [Number.prototype, 'Number'],
  [String.prototype, 'String'],
  [Boolean.prototype, 'Boolean'],
  [Function.prototype, 'Function'],
  [WeakRef.prototype, 'WeakRef'],
  [FinalizationRegistry.prototype, 'FinalizationRegistry'],
  [SharedArrayBuffer.prototype, 'SharedArrayBuffer'],
]);

/**
 * Makes instances of `cls` serializable: they are restored with `cls.prototype` and their own
 * enumerable properties, without running the constructor. `id` must be the same in every process
 * that decodes the snapshot; `ppp2p build` emits `registerClass(Name, 'module.ts#Name')` for every
 * top-level class. Registering an id again (a module evaluated twice) replaces the class.
 * Instances of subclasses of Map, Set, Array, Date, typed arrays and other built-ins with internal
 * state can be registered but not serialized; subclasses of Error can. Nor can instances of a class
 * registered with `{ privateState }` (it declares #private members), or of its subclasses.
 */
export function registerClass(cls: abstract new (...args: never[]) => unknown, id: string, options: RegisterClassOptions = {}): void {
  const proto: unknown = typeof cls === 'function' ? cls.prototype : undefined;
  if (typeof proto !== 'object' || proto === null) {
    throw new TypeError(`registerClass(cls, '${String(id)}'): cls must be a class, got ${typeof cls}.`);
  }
  if (typeof id !== 'string' || id === '') {
    throw new TypeError(`registerClass(${cls.name || 'cls'}, id): id must be a non-empty string.`);
  }
  let exoticBase: string | undefined;
  let isError = false;
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = getPrototypeOf(p) as object | null) {
    if (p === Error.prototype) isError = true;
    exoticBase ??= EXOTIC_PROTOS.get(p);
  }
  const entry: ClassEntry = { id, ctor: cls, proto, exoticBase, isError, isFrame: proto instanceof Frame, privateState: options.privateState ?? false };
  classesById.set(id, entry);
  classesByProto.set(proto, entry);
}

/** The nearest registered class from `proto` up whose #private members a snapshot cannot carry, if any. */
function privateStateOwner(proto: object): ClassEntry | null {
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = getPrototypeOf(p) as object | null) {
    const entry = classesByProto.get(p);
    if (entry !== undefined && entry.privateState !== false) return entry;
  }
  return null;
}

/** Built-in error classes, restored by name; instances of unregistered subclasses become the nearest one. */
const BUILTIN_ERRORS = new Map<string, ErrorConstructor | AggregateErrorConstructor>([
  ['Error', Error],
  ['EvalError', EvalError],
  ['RangeError', RangeError],
  ['ReferenceError', ReferenceError],
  ['SyntaxError', SyntaxError],
  ['TypeError', TypeError],
  ['URIError', URIError],
  ['AggregateError', AggregateError],
]);
const BUILTIN_ERROR_BY_PROTO = new Map<object, string>([...BUILTIN_ERRORS].map(([name, ctor]) => [ctor.prototype, name]));

/** View constructors by kind number (the order is part of the format). */
const VIEW_KINDS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
  Buffer,
] as const;
const VIEW_KIND_BY_PROTO = new Map<object, number>(VIEW_KINDS.map((ctor, kind) => [ctor.prototype, kind]));

/** Kinds of the built-ins the writer handles, by prototype. */
const BUILTIN_KIND_BY_PROTO = new Map<object, number>([
  [Map.prototype, MAP],
  [Set.prototype, SET],
  [Date.prototype, DATE],
  [RegExp.prototype, REGEXP],
  [ArrayBuffer.prototype, ARRAY_BUFFER],
  [Number.prototype, BOXED],
  [String.prototype, BOXED],
  [Boolean.prototype, BOXED],
  [BigInt.prototype, BOXED],
  ...[...VIEW_KIND_BY_PROTO.keys()].map((proto) => [proto, VIEW] as [object, number]),
  ...[...BUILTIN_ERROR_BY_PROTO.keys()].map((proto) => [proto, ERROR] as [object, number]),
]);

// ---------------------------------------------------------------------------------------------
// Encoding

type PathKey = string | number;

/**
 * The path to an outlined object, kept as the writer's raw keys (Map entries as numbers) and
 * turned into words only if something under it cannot be serialized.
 */
interface RawPath {
  readonly parent: RawPath | undefined;
  readonly keys: PathKey[];
  readonly maps: (Map<unknown, unknown> | undefined)[];
}

/** Where the bytes of one view or ArrayBuffer lie; its tag gets its segment once all are known. */
interface BufferUse {
  readonly items: unknown[];
  readonly start: number;
  readonly end: number;
}

/**
 * Serializes a value (normally `{ format: 1, frames, thread }`) to snapshot bytes. The returned
 * array owns its whole ArrayBuffer (no offset, no pool), so `bytes.buffer` can be transferred.
 * Throws {@link UnserializableValueError} naming the first value it cannot serialize.
 */
export function encodeSnapshot(value: unknown): Uint8Array {
  const body = packr.pack(new SnapshotWriter().write(value));
  // Not zero-filled (every byte is written below) and not pooled: the caller owns exactly these bytes.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(HEADER_BYTES + body.length).buffer);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(4, SNAPSHOT_FORMAT_VERSION);
  view.setUint32(6, body.length);
  // msgpackr returns a view into its reusable buffer: copying it here gives the caller bytes it owns.
  out.set(body, HEADER_BYTES);
  return out;
}

/**
 * Encodes a value that travels between threads (a message, a global variable) in the snapshot format, as
 * {@link encodeSnapshot} does, but the bytes may share their ArrayBuffer with other encoded values: callers
 * copy them or keep them, never transfer `bytes.buffer`.
 *
 * Plain data (primitives, plain objects and dense arrays forming a tree, typed arrays and DataViews each on a
 * buffer of its own) takes a fast path: no rewriting walk beyond a check, no records, no copy. Its bytes decode
 * with {@link decodeSnapshot} to what the general path's would. Anything else goes through the general path.
 */
export function encodeValue(value: unknown): Uint8Array {
  const plain = new PlainWriter();
  const root = plain.value(value, 0);
  if (root === NOT_PLAIN) return encodeSnapshot(value);
  // The header is written into space msgpackr reserves in front of the body: the value is written once.
  const out = valuePackr.pack([NO_ITEMS, plain.segments ?? NO_ITEMS, NO_ITEMS, root], RESERVE_START_SPACE | HEADER_BYTES);
  const length = out.length - HEADER_BYTES;
  out[0] = MAGIC[0];
  out[1] = MAGIC[1];
  out[2] = MAGIC[2];
  out[3] = MAGIC[3];
  out[4] = SNAPSHOT_FORMAT_VERSION >>> 8;
  out[5] = SNAPSHOT_FORMAT_VERSION & 0xff;
  out[6] = length >>> 24;
  out[7] = (length >>> 16) & 0xff;
  out[8] = (length >>> 8) & 0xff;
  out[9] = length & 0xff;
  return out;
}

/**
 * Records off: plain objects become msgpack maps, which the reader takes as it takes records (records pay off
 * for many objects of one shape, and cost a per-call set-up that dominates small values).
 */
const valuePackr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, useToJSON: false });
const NO_ITEMS: readonly unknown[] = Object.freeze([]);
const NOT_PLAIN = Symbol('not plain');
/** Deeper plain data goes through the general path (which outlines it instead of recursing). */
const PLAIN_DEPTH = 64;
/** Objects tracked in an array before a Set: values mostly hold a handful. */
const PLAIN_LINEAR_SEEN = 16;

/**
 * The fast path's check and rewrite in one walk: returns the value as the general writer would encode it, or
 * NOT_PLAIN as soon as something needs the general writer (a shared or cyclic object, -0, a string with an
 * unpaired surrogate, an unusual key, a hole, a class instance or built-in other than a view, two views on one
 * buffer, anything that cannot be serialized at all: the general path then names it).
 */
class PlainWriter {
  segments: unknown[] | undefined;
  #seen: object[] | undefined;
  #seenSet: Set<object> | undefined;
  #buffers: ArrayBufferLike[] | undefined;

  value(v: unknown, depth: number): unknown {
    switch (typeof v) {
      case 'object':
        return v === null ? v : this.#object(v, depth);
      case 'number':
        return v === 0 && 1 / v < 0 ? NOT_PLAIN : v;
      case 'string':
        return isWellFormed(v) ? v : NOT_PLAIN;
      case 'boolean':
      case 'undefined':
      case 'bigint':
        return v;
      default:
        return NOT_PLAIN;
    }
  }

  #object(v: object, depth: number): unknown {
    if (depth >= PLAIN_DEPTH || !this.#first(v)) return NOT_PLAIN;
    const proto = getPrototypeOf(v) as object | null;
    if (proto === Object.prototype) return this.#plainObject(v as Record<string, unknown>, depth);
    if (proto === Array.prototype && Array.isArray(v)) return this.#array(v, depth);
    const kind = VIEW_KIND_BY_PROTO.get(proto as object);
    return kind === undefined ? NOT_PLAIN : this.#view(v as ArrayBufferView, kind);
  }

  /** False if `v` was met before (sharing and cycles need the general writer's references). */
  #first(v: object): boolean {
    if (this.#seenSet !== undefined) {
      if (this.#seenSet.has(v)) return false;
      this.#seenSet.add(v);
      return true;
    }
    const seen = (this.#seen ??= []);
    if (seen.includes(v)) return false;
    if (seen.length < PLAIN_LINEAR_SEEN) seen.push(v);
    else this.#seenSet = new Set([...seen, v]);
    return true;
  }

  #plainObject(obj: Record<string, unknown>, depth: number): unknown {
    const keys = Object.keys(obj);
    let out: Record<string, unknown> | undefined;
    for (let i = 0, n = keys.length; i < n; i++) {
      const key = keys[i]!;
      if (key === '__proto__' || !isWellFormed(key)) return NOT_PLAIN;
      const child = obj[key];
      const encoded = typeof child === 'object' && child !== null ? this.#object(child, depth + 1) : this.value(child, depth + 1);
      if (encoded === NOT_PLAIN) return NOT_PLAIN;
      if (out !== undefined) out[key] = encoded;
      else if (encoded !== child && isRewritten(encoded)) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
        out[key] = encoded;
      }
    }
    return out ?? obj;
  }

  #array(arr: unknown[], depth: number): unknown {
    let out: unknown[] | undefined;
    for (let i = 0, n = arr.length; i < n; i++) {
      const child = arr[i];
      let encoded: unknown = child;
      if (typeof child === 'object') {
        if (child !== null) encoded = this.#object(child, depth + 1);
      } else if (typeof child === 'number') {
        if (child === 0 && 1 / child < 0) return NOT_PLAIN;
      } else if (child === undefined) {
        if (!(i in arr)) return NOT_PLAIN;
      } else {
        encoded = this.value(child, depth + 1);
      }
      if (encoded === NOT_PLAIN) return NOT_PLAIN;
      if (out !== undefined) out.push(encoded);
      else if (encoded !== child && isRewritten(encoded)) (out = arr.slice(0, i)).push(encoded);
    }
    return out ?? arr;
  }

  /** A view alone on its buffer: one segment of just its bytes, as the general writer makes it. */
  #view(view: ArrayBufferView, kind: number): unknown {
    const buffer = view.buffer;
    // Empty views (maybe over a detached buffer) and shared memory: the general writer decides.
    if (!(buffer instanceof ArrayBuffer) || view.byteLength === 0) return NOT_PLAIN;
    const buffers = (this.#buffers ??= []);
    if (buffers.includes(buffer)) return NOT_PLAIN;
    buffers.push(buffer);
    const segments = (this.segments ??= []);
    const pad = view.byteOffset % 8;
    const segment = segments.length / 2;
    segments.push(new Uint8Array(buffer, view.byteOffset, view.byteLength), pad);
    const length = view instanceof DataView ? view.byteLength : (view as Uint8Array).length;
    return new Tag([VIEW, segment, pad, length, kind]);
  }
}

class SnapshotWriter {
  /** Discovery number of every object met so far. */
  readonly #seen = new Map<object, number>();
  /** `#path[d]` is the key of the value being written at depth d + 1. */
  readonly #path: PathKey[] = [];
  /** The Map being written at each depth, whose keys `#path` holds as entry numbers (see #fail). */
  readonly #maps: (Map<unknown, unknown> | undefined)[] = [];
  /** Path from the root to the object the current walk started from (undefined for the root walk). */
  #prefix: RawPath | undefined;
  readonly #outlineQueue: { value: object; path: RawPath }[] = [];
  readonly #classIds: string[] = [];
  readonly #classIndex = new Map<ClassEntry, number>();
  readonly #buffers = new Map<ArrayBufferLike, BufferUse[]>();
  /** The last key list at each depth whose keys were all found fit for a msgpack map (see #props). */
  readonly #checkedKeys: (readonly string[] | undefined)[] = [];

  write(root: unknown): unknown[] {
    const encodedRoot = this.#value(root, 0);
    const outlined: unknown[] = [];
    for (let slot = 0; slot < this.#outlineQueue.length; slot++) {
      const { value, path } = this.#outlineQueue[slot]!;
      this.#prefix = path;
      outlined.push(this.#contents(value, 0));
    }
    return [this.#classIds, this.#segments(), outlined, encodedRoot];
  }

  #value(v: unknown, depth: number): unknown {
    switch (typeof v) {
      case 'object':
        return v === null ? v : this.#object(v, depth);
      case 'number':
        return v === 0 && 1 / v < 0 ? NEG_ZERO_TAG : v;
      case 'string':
        return isWellFormed(v) ? v : string16(v);
      case 'function': {
        // A registered class held as a value (`kind: typeof Shape`) is code, not state: it travels by id.
        const entry = classesByProto.get((v as { prototype?: object }).prototype ?? Object.prototype);
        if (entry !== undefined && entry.ctor === v) return new Tag([CLASS_REF, this.#classRef(entry)]);
        throw this.#fail(describeFunction(v as (...args: unknown[]) => unknown), depth);
      }
      case 'symbol':
        throw this.#fail(describeSymbol(v), depth);
      default: // boolean, undefined, bigint: msgpack carries them as they are
        return v;
    }
  }

  #object(v: object, depth: number): unknown {
    const n = this.#seen.get(v);
    if (n !== undefined) return new Tag([REF, n]);
    this.#seen.set(v, this.#seen.size);
    if (depth >= OUTLINE_DEPTH) {
      this.#outlineQueue.push({ value: v, path: { parent: this.#prefix, keys: this.#path.slice(0, depth), maps: this.#maps.slice(0, depth) } });
      return new Tag([OUTLINED, this.#outlineQueue.length - 1]);
    }
    return this.#contents(v, depth);
  }

  /** The encoded form of an object met for the first time: `v` itself if msgpack can carry it as is. */
  #contents(v: object, depth: number): unknown {
    const proto = getPrototypeOf(v) as object | null;
    if (proto === Object.prototype) {
      const props = this.#props(v as Record<string, unknown>, Object.keys(v), depth);
      return Array.isArray(props) ? new Tag([OBJECT, 0, props]) : props;
    }
    if (proto === Array.prototype && Array.isArray(v)) return this.#array(v, depth);
    if (proto === null) return new Tag([OBJECT, 1, this.#props(v as Record<string, unknown>, Object.keys(v), depth)]);
    const kind = BUILTIN_KIND_BY_PROTO.get(proto);
    if (kind !== undefined) return this.#builtin(v, kind, proto, depth);
    const entry = classesByProto.get(proto);
    if (entry !== undefined && !entry.isFrame) {
      if (entry.exoticBase !== undefined) {
        throw this.#fail(
          `an instance of class '${entry.ctor.name}', a subclass of ${entry.exoticBase} ` +
            `(instances of subclasses of built-ins with internal state cannot be serialized; hold a plain ${entry.exoticBase} instead)`,
          depth,
        );
      }
      const privateFrom = entry.privateFrom === undefined ? (entry.privateFrom = privateStateOwner(proto)) : entry.privateFrom;
      if (privateFrom !== null) {
        const inherited = privateFrom === entry ? '' : ` (inherited from class '${privateFrom.ctor.name}')`;
        const what = privateFrom.privateState === 'methods' ? 'method' : 'field';
        throw this.#fail(
          `an instance of class '${entry.ctor.name}', which has #private ${what}s${inherited} ` +
            `that a snapshot cannot carry (use a TypeScript \`private\` ${what} instead)`,
          depth,
        );
      }
      if (entry.isError) return this.#error(v as Error, this.#classRef(entry), depth);
      return new Tag([CLASS, this.#classRef(entry), this.#props(v as Record<string, unknown>, Object.keys(v), depth)]);
    }
    if (v instanceof Frame) return this.#frame(v, depth);
    if (v instanceof Error) {
      // An error of a class nobody registered (a library's, Node's own): keep it as its nearest
      // built-in error class rather than fail the thread for holding a caught error.
      let p: object | null = proto;
      while (p !== null && !BUILTIN_ERROR_BY_PROTO.has(p)) p = getPrototypeOf(p) as object | null;
      return this.#error(v, BUILTIN_ERROR_BY_PROTO.get(p ?? Error.prototype) ?? 'Error', depth);
    }
    throw this.#fail(describeObject(v, proto), depth);
  }

  #array(v: unknown[], depth: number): unknown[] {
    let out: unknown[] | undefined;
    const path = this.#path;
    this.#maps[depth] = undefined;
    for (let i = 0, n = v.length; i < n; i++) {
      const child = v[i];
      let encoded: unknown = child;
      if (typeof child === 'number') {
        if (child === 0 && 1 / child < 0) encoded = NEG_ZERO_TAG; // numbers dominate arrays: skip the call
      } else if (child === undefined) {
        if (!(i in v)) encoded = HOLE_TAG;
      } else {
        path[depth] = i;
        encoded = this.#value(child, depth + 1);
      }
      if (out !== undefined) out.push(encoded);
      else if (encoded !== child && isRewritten(encoded)) (out = v.slice(0, i)).push(encoded);
    }
    return out ?? v;
  }

  /**
   * The own properties `keys` of `obj`, encoded: `obj` itself when nothing changed, a copy when a
   * value was rewritten, or a flat `[key, value, ...]` array when a key cannot be a msgpack map key
   * as is (`__proto__`, which msgpackr renames, or a key with an unpaired surrogate).
   */
  #props(obj: Record<string, unknown>, keys: readonly string[], depth: number): Record<string, unknown> | unknown[] {
    let out: Record<string, unknown> | undefined;
    let entries: unknown[] | undefined;
    const path = this.#path;
    this.#maps[depth] = undefined;
    // Objects met at one depth mostly share their keys: comparing with the last checked key list
    // (same strings, so a pointer compare) saves a well-formedness scan of every key.
    const checked = this.#checkedKeys[depth];
    for (let i = 0, n = keys.length; i < n; i++) {
      const key = keys[i]!;
      const child = obj[key];
      path[depth] = key;
      const encoded = this.#value(child, depth + 1);
      if (entries !== undefined) {
        entries.push(isWellFormed(key) ? key : string16(key), encoded);
      } else if (checked?.[i] !== key && (key === '__proto__' || !isWellFormed(key))) {
        const from = out ?? obj;
        entries = [];
        for (let j = 0; j < i; j++) entries.push(keys[j], from[keys[j]!]);
        entries.push(isWellFormed(key) ? key : string16(key), encoded);
      } else if (out !== undefined) {
        out[key] = encoded;
      } else if (encoded !== child && isRewritten(encoded)) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
        out[key] = encoded;
      }
    }
    if (entries !== undefined) return entries;
    this.#checkedKeys[depth] = keys;
    return out ?? obj;
  }

  #builtin(v: object, kind: number, proto: object, depth: number): Tag {
    switch (kind) {
      case MAP: {
        const items: unknown[] = [MAP];
        const path = this.#path;
        this.#maps[depth] = v as Map<unknown, unknown>;
        let i = 0;
        for (const [key, value] of v as Map<unknown, unknown>) {
          path[depth] = -1 - i; // the key of entry i
          items.push(this.#value(key, depth + 1));
          path[depth] = i++; // the value of entry i
          items.push(this.#value(value, depth + 1));
        }
        return new Tag(items);
      }
      case SET: {
        const items: unknown[] = [SET];
        const path = this.#path;
        this.#maps[depth] = undefined;
        let i = 0;
        for (const element of v as Set<unknown>) {
          path[depth] = i++;
          items.push(this.#value(element, depth + 1));
        }
        return new Tag(items);
      }
      case DATE:
        return new Tag([DATE, (v as Date).getTime()]);
      case REGEXP: {
        const re = v as RegExp;
        return new Tag([REGEXP, this.#value(re.source, depth + 1), re.flags, this.#value(re.lastIndex, depth + 1)]);
      }
      case BOXED:
        return new Tag([BOXED, this.#value((v as { valueOf(): unknown }).valueOf(), depth + 1)]);
      case ERROR:
        return this.#error(v as Error, BUILTIN_ERROR_BY_PROTO.get(proto)!, depth);
      case VIEW: {
        const view = v as ArrayBufferView;
        const kindOfView = VIEW_KIND_BY_PROTO.get(proto)!;
        const length = view instanceof DataView ? view.byteLength : (view as Uint8Array).length;
        const items: unknown[] = [VIEW, -1, -1, length, kindOfView];
        this.#useBuffer(view.buffer, items, view.byteOffset, view.byteOffset + view.byteLength, v, depth);
        return new Tag(items);
      }
      default: {
        // ARRAY_BUFFER
        const buffer = v as ArrayBuffer;
        const items: unknown[] = [ARRAY_BUFFER, -1, -1, buffer.byteLength];
        this.#useBuffer(buffer, items, 0, buffer.byteLength, v, depth);
        return new Tag(items);
      }
    }
  }

  #useBuffer(buffer: ArrayBufferLike, items: unknown[], start: number, end: number, v: object, depth: number): void {
    if (!(buffer instanceof ArrayBuffer)) throw this.#fail(describeObject(v, getPrototypeOf(v) as object), depth);
    let uses = this.#buffers.get(buffer);
    if (uses === undefined) this.#buffers.set(buffer, (uses = []));
    uses.push({ items, start, end });
  }

  /** Copies the bytes the views reach, one segment per run of overlapping ranges, and points each tag at its segment. */
  #segments(): unknown[] {
    const out: unknown[] = [];
    for (const [buffer, uses] of this.#buffers) {
      if (uses.length > 1) uses.sort((a, b) => a.start - b.start);
      for (let i = 0; i < uses.length; ) {
        const base = uses[i]!.start;
        let end = uses[i]!.end;
        let j = i + 1;
        while (j < uses.length && uses[j]!.start < end) end = Math.max(end, uses[j++]!.end);
        // Keep every view's offset modulo 8 so a Float64Array stays aligned in the new buffer.
        const pad = base % 8;
        const segment = out.length / 2;
        out.push(new Uint8Array(buffer, base, end - base), pad);
        for (; i < j; i++) {
          const use = uses[i]!;
          use.items[1] = segment;
          use.items[2] = pad + use.start - base;
        }
      }
    }
    return out;
  }

  #error(err: Error, classRef: number | string, depth: number): Tag {
    const names = Object.getOwnPropertyNames(err);
    // An unregistered subclass's name would otherwise turn into the built-in's.
    if (!names.includes('name') && typeof classRef === 'string' && err.name !== classRef) names.push('name');
    const isShown = (name: string): boolean => Object.getOwnPropertyDescriptor(err, name)?.enumerable === true;
    // Hidden (non-enumerable, like message, stack, cause) first: the reader restores them in that order.
    const hidden = this.#errorProps(err, names.filter((name) => !isShown(name)), depth);
    const shown = this.#errorProps(err, names.filter(isShown), depth);
    return new Tag([ERROR, classRef, hidden, shown]);
  }

  #errorProps(err: Error, names: string[], depth: number): Record<string, unknown> | unknown[] {
    const props = Object.create(null) as Record<string, unknown>; // '__proto__' may be an own property name
    for (const name of names) props[name] = (err as unknown as Record<string, unknown>)[name];
    return this.#props(props, names, depth);
  }

  #frame(frame: Frame, depth: number): Tag {
    const cls: unknown = frame.constructor;
    if (!isFrameClass(cls)) {
      const name = typeof cls === 'function' && cls.name !== '' ? cls.name : 'Frame';
      throw this.#fail(`${withArticle(name)} that is not a frame class emitted by \`ppp2p build\``, depth);
    }
    const fields = cls.fields;
    const items: unknown[] = [FRAME, cls.id, cls.layout, frame.pc];
    const path = this.#path;
    this.#maps[depth] = undefined;
    for (const field of fields) {
      path[depth] = field;
      items.push(this.#value(frame[field], depth + 1));
    }
    if (!fields.includes('self') && hasOwn(frame, 'self')) {
      path[depth] = 'self';
      items.push(this.#value(frame['self'], depth + 1));
    }
    return new Tag(items);
  }

  #classRef(entry: ClassEntry): number {
    let index = this.#classIndex.get(entry);
    if (index === undefined) {
      index = this.#classIds.push(entry.id) - 1;
      this.#classIndex.set(entry, index);
    }
    return index;
  }

  #fail(what: string, depth: number): UnserializableValueError {
    const here: RawPath = { parent: this.#prefix, keys: this.#path.slice(0, depth), maps: this.#maps.slice(0, depth) };
    const chain: RawPath[] = [];
    for (let p: RawPath | undefined = here; p !== undefined; p = p.parent) chain.push(p);
    const path: PathKey[] = [];
    for (const { keys, maps } of chain.reverse()) {
      keys.forEach((key, d) => {
        const map = maps[d];
        path.push(map === undefined ? key : describeMapEntry(map, key as number));
      });
    }
    return new UnserializableValueError(what, path);
  }
}

/** Whether an encoded value differs from its original because it was rewritten (not merely NaN !== NaN). */
function isRewritten(encoded: unknown): boolean {
  return typeof encoded === 'object';
}

function string16(s: string): Tag {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return new Tag([STRING16, units]);
}

/** Path segment of entry `i` of a Map: `get(key)` for its value, `keys()[i]` for its key (encoded as -1 - i). */
function describeMapEntry(map: Map<unknown, unknown>, encoded: number): string {
  const index = encoded < 0 ? -1 - encoded : encoded;
  if (encoded < 0) return `keys()[${index}]`;
  let i = 0;
  for (const key of map.keys()) {
    if (i++ !== index) continue;
    if (typeof key === 'string') return `get(${JSON.stringify(key)})`;
    if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint' || key == null) {
      return `get(${typeof key === 'bigint' ? `${key}n` : String(key)})`;
    }
    break;
  }
  return `values()[${index}]`;
}

// ---------------------------------------------------------------------------------------------
// Describing what cannot be serialized (only on the error path, so clarity over speed)

function describeFunction(fn: (...args: unknown[]) => unknown): string {
  const source = Function.prototype.toString.call(fn);
  const kind = /^class\b/.test(source)
    ? 'class'
    : /^async\s*function\s*\*|^async\s*\*/.test(source)
      ? 'async generator function'
      : /^function\s*\*|^\*/.test(source)
        ? 'generator function'
        : /^async\b/.test(source)
          ? 'async function'
          : 'function';
  if (fn.name === '') return `an anonymous ${kind}`;
  return `${kind.startsWith('async') ? 'an' : 'a'} ${kind} '${fn.name}'`;
}

function describeSymbol(s: symbol): string {
  return s.description === undefined ? 'a Symbol' : `a Symbol(${s.description})`;
}

function className(proto: object): string {
  const ctor = (proto as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'anonymous class';
}

/** Objects whose state is a live resource of this process: registering their class would not help. */
function describeLiveObject(v: object): string | undefined {
  if (v instanceof Promise) return 'a Promise';
  if (v instanceof WeakMap) return 'a WeakMap';
  if (v instanceof WeakSet) return 'a WeakSet';
  if (v instanceof WeakRef) return 'a WeakRef';
  if (v instanceof FinalizationRegistry) return 'a FinalizationRegistry';
  if (v instanceof SharedArrayBuffer) return 'a SharedArrayBuffer (memory shared with other threads)';
  if (ArrayBuffer.isView(v) && v.buffer instanceof SharedArrayBuffer) {
    return `${withArticle(className(getPrototypeOf(v) as object))} over a SharedArrayBuffer (memory shared with other threads)`;
  }
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  if (tag === 'Generator' || tag === 'AsyncGenerator') return 'a generator object (a suspended function call)';
  if (tag.endsWith('Iterator')) return `${withArticle(tag)} (a live iterator; collect its values into an array instead)`;
  const proto = getPrototypeOf(v) as object | null;
  if (v instanceof EventEmitter) return `${withArticle(proto === null ? 'EventEmitter' : className(proto))} (a live EventEmitter)`;
  if (v instanceof EventTarget) return `${withArticle(proto === null ? 'EventTarget' : className(proto))} (a live EventTarget)`;
  return undefined;
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

function describeObject(v: object, proto: object): string {
  const live = describeLiveObject(v);
  if (live !== undefined) return live;
  const ctor = (proto as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function' || ctor.prototype !== proto) {
    return 'an object whose prototype is not a class prototype (made with Object.create or setPrototypeOf)';
  }
  const name = className(proto);
  return (
    `an instance of class '${name}', which is not registered for snapshots ` +
    `(declare the class at the top level of a module built by \`ppp2p build\`, or call registerClass(${name}, 'module.ts#${name}'))`
  );
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Rebuilds the value a snapshot was encoded from. Throws SnapshotFormatError or SnapshotLayoutError. */
export function decodeSnapshot(bytes: Uint8Array): unknown {
  const body = checkHeader(bytes);
  let container: unknown;
  try {
    container = unpackr.unpack(body);
  } catch (err) {
    throw malformed(`its body is not valid msgpack (${(err as Error).message})`, err);
  }
  if (!Array.isArray(container) || container.length !== 4) throw malformed('its body is not [classes, segments, outlined, root]');
  const [classIds, segments, outlined, root] = container as [unknown, unknown, unknown, unknown];
  if (!Array.isArray(classIds) || !Array.isArray(segments) || !Array.isArray(outlined)) {
    throw malformed('its body is not [classes, segments, outlined, root]');
  }
  try {
    return new SnapshotReader(resolveClasses(classIds), segmentBuffers(segments), outlined).read(root);
  } catch (err) {
    if (err instanceof SnapshotFormatError || err instanceof SnapshotLayoutError) throw err;
    throw malformed((err as Error).message, err);
  }
}

function checkHeader(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new SnapshotFormatError(`Not a ppp2p snapshot: expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}.`);
  }
  if (bytes.length >= MAGIC.length && bytes.length < HEADER_BYTES && MAGIC.every((b, i) => bytes[i] === b)) {
    throw new SnapshotFormatError(`Snapshot is truncated: ${bytes.length} bytes, shorter than its ${HEADER_BYTES}-byte header.`);
  }
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    const start = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new SnapshotFormatError(
      `Not a ppp2p snapshot: the bytes start with [${start}] (${bytes.length} bytes in all), ` +
        `not with 'PPSN' and a format version.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFormatError(
      `Snapshot format version ${version} is not supported: this ppp2p reads format version ${SNAPSHOT_FORMAT_VERSION}. ` +
        'Resume the thread on a peer running the ppp2p version that took the snapshot, or restart it from its arguments.',
    );
  }
  const length = view.getUint32(6);
  const actual = bytes.length - HEADER_BYTES;
  if (actual < length) {
    throw new SnapshotFormatError(`Snapshot is truncated: its header announces ${length} bytes of body but only ${actual} follow.`);
  }
  if (actual > length) {
    throw new SnapshotFormatError(`Snapshot has ${actual - length} unexpected bytes after its ${length}-byte body.`);
  }
  return bytes.subarray(HEADER_BYTES);
}

function malformed(what: string, cause?: unknown): SnapshotFormatError {
  return new SnapshotFormatError(`Snapshot is malformed: ${what}.`, cause === undefined ? undefined : { cause });
}

function resolveClasses(ids: unknown[]): ClassEntry[] {
  return ids.map((id) => {
    if (typeof id !== 'string') throw malformed('a class id is not a string');
    const entry = classesById.get(id);
    if (entry === undefined) {
      throw new SnapshotLayoutError(
        `Cannot restore the snapshot: it holds instances of class '${id}', which no loaded module registers. ` +
          'Resume it with the build the thread was started from (`ppp2p build` registers every top-level class), ' +
          'or restart the thread from its arguments.',
      );
    }
    return entry;
  });
}

/** New ArrayBuffers from `[bytes, pad, bytes, pad, ...]`: each segment starts `pad` bytes into its buffer. */
function segmentBuffers(segments: unknown[]): ArrayBuffer[] {
  if (segments.length % 2 !== 0) throw malformed('its segment table has an odd length');
  const buffers: ArrayBuffer[] = [];
  for (let i = 0; i < segments.length; i += 2) {
    const bytes = segments[i];
    const pad = segments[i + 1];
    if (!(bytes instanceof Uint8Array) || !Number.isInteger(pad) || (pad as number) < 0 || (pad as number) > 7) {
      throw malformed(`segment ${i / 2} is not raw bytes and a padding`);
    }
    // msgpackr hands typed array bytes over in a fresh buffer of their own: adopt it when it fits.
    if (pad === 0 && bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength === bytes.length) {
      buffers.push(bytes.buffer);
    } else {
      const buffer = new ArrayBuffer((pad as number) + bytes.length);
      new Uint8Array(buffer, pad as number).set(bytes);
      buffers.push(buffer);
    }
  }
  return buffers;
}

class SnapshotReader {
  /** Every object rebuilt so far, by discovery number. */
  readonly #objects: unknown[] = [];
  readonly #classes: ClassEntry[];
  readonly #buffers: ArrayBuffer[];
  readonly #outlined: unknown[];
  readonly #pending: { shell: object; raw: unknown }[] = [];

  constructor(classes: ClassEntry[], buffers: ArrayBuffer[], outlined: unknown[]) {
    this.#classes = classes;
    this.#buffers = buffers;
    this.#outlined = outlined;
  }

  read(root: unknown): unknown {
    const value = this.#value(root);
    for (let i = 0; i < this.#pending.length; i++) {
      const { shell, raw } = this.#pending[i]!;
      this.#fill(shell, raw);
    }
    return value;
  }

  #value(raw: unknown): unknown {
    if (typeof raw !== 'object' || raw === null) return raw;
    if (raw instanceof Tag) {
      const items = raw.items;
      switch (Array.isArray(items) ? items[0] : undefined) {
        case REF: {
          const n = items[1];
          if (typeof n !== 'number' || !(n >= 0 && n < this.#objects.length)) throw malformed(`a reference points to object ${String(n)}`);
          return this.#objects[n];
        }
        case NEG_ZERO:
          return -0;
        case CLASS_REF:
          return this.#class(items[1]).ctor;
        case STRING16:
          return readString16(items[1]);
        case OUTLINED: {
          const slot = items[1];
          if (typeof slot !== 'number' || !hasOwn(this.#outlined, slot)) throw malformed(`outlined slot ${String(slot)} does not exist`);
          const rawOutlined = this.#outlined[slot];
          const shell = this.#shell(rawOutlined);
          this.#pending.push({ shell, raw: rawOutlined });
          return shell;
        }
        case HOLE:
          throw malformed('an array hole outside an array');
      }
    }
    const shell = this.#shell(raw);
    this.#fill(shell, raw);
    return shell;
  }

  /** The object that `raw` stands for, registered under the next number; containers are still empty. */
  #shell(raw: unknown): object {
    let shell: object;
    if (raw instanceof Tag) {
      shell = this.#tagShell(raw.items);
    } else if (typeof raw === 'object' && raw !== null && (getPrototypeOf(raw) === Object.prototype || Array.isArray(raw))) {
      shell = raw; // plain objects and arrays are rebuilt in place
    } else {
      throw malformed(`unexpected ${describeRaw(raw)} in the value tree`);
    }
    this.#objects.push(shell);
    return shell;
  }

  #tagShell(items: unknown[]): object {
    switch (items[0]) {
      case OBJECT:
        return items[1] === 1 ? (Object.create(null) as object) : {};
      case CLASS:
        return Object.create(this.#class(items[1]).proto) as object;
      case ERROR: {
        const ref = items[1];
        const ctor = typeof ref === 'number' ? this.#class(ref).ctor : BUILTIN_ERRORS.get(ref as string);
        if (ctor === undefined) throw malformed(`unknown error class ${String(ref)}`);
        // An Error exotic object with the right prototype, without running a user constructor.
        return Reflect.construct(Error, [], ctor) as object;
      }
      case FRAME:
        return new (frameClassFor(items))();
      case MAP:
        return new Map();
      case SET:
        return new Set();
      case DATE:
        if (typeof items[1] !== 'number') throw malformed('a Date without a time value');
        return new Date(items[1]);
      case REGEXP: {
        const [, rawSource, flags, lastIndex] = items;
        const source = this.#value(rawSource);
        if (typeof source !== 'string' || typeof flags !== 'string') throw malformed('a RegExp without source and flags');
        const re = new RegExp(source, flags);
        re.lastIndex = this.#value(lastIndex) as number;
        return re;
      }
      case BOXED: {
        const value = this.#value(items[1]);
        if (!['number', 'string', 'boolean', 'bigint'].includes(typeof value)) throw malformed('a boxed value that is not a primitive');
        return Object(value) as object;
      }
      case VIEW: {
        const [, segment, offset, length, kind] = items;
        const buffer = this.#buffer(segment);
        const ctor = VIEW_KINDS[kind as number];
        if (ctor === undefined || !Number.isInteger(kind)) throw malformed(`unknown view kind ${String(kind)}`);
        if (!Number.isInteger(offset) || !Number.isInteger(length)) throw malformed('a view without offset and length');
        return ctor === Buffer
          ? Buffer.from(buffer, offset as number, length as number)
          : new (ctor as new (buffer: ArrayBuffer, offset: number, length: number) => object)(buffer, offset as number, length as number);
      }
      case ARRAY_BUFFER: {
        const [, segment, offset, length] = items;
        const buffer = this.#buffer(segment);
        if (offset !== 0 || length !== buffer.byteLength) throw malformed('an ArrayBuffer that is not a whole segment');
        return buffer;
      }
      default:
        throw malformed(`unknown value kind ${String(items[0])}`);
    }
  }

  /** Puts the contents of `raw` into `shell` (a no-op for values without contents). */
  #fill(shell: object, raw: unknown): void {
    if (!(raw instanceof Tag)) {
      if (Array.isArray(raw)) this.#fillArray(raw);
      else this.#fillPlain(raw as Record<string, unknown>);
      return;
    }
    const items = raw.items;
    switch (items[0]) {
      case OBJECT:
        this.#fillProps(shell as Record<string, unknown>, items[2], false);
        return;
      case CLASS:
        this.#fillProps(shell as Record<string, unknown>, items[2], needsDefine(this.#class(items[1])));
        return;
      case ERROR:
        this.#fillProps(shell as Record<string, unknown>, items[2], true, false);
        this.#fillProps(shell as Record<string, unknown>, items[3], true);
        return;
      case FRAME: {
        const frame = shell as Frame;
        const fields = (frame.constructor as FrameClass).fields;
        const count = items.length - 4;
        if (count !== fields.length && !(count === fields.length + 1 && !fields.includes('self'))) {
          throw malformed(`a frame of '${String(items[1])}' holds ${count} values for ${fields.length} fields`);
        }
        if (!Number.isInteger(items[3])) throw malformed(`a frame of '${String(items[1])}' has no program counter`);
        frame.pc = items[3] as number;
        for (let i = 0; i < fields.length; i++) frame[fields[i]!] = this.#value(items[4 + i]);
        if (count > fields.length) frame['self'] = this.#value(items[4 + fields.length]);
        return;
      }
      case MAP: {
        const map = shell as Map<unknown, unknown>;
        if (items.length % 2 !== 1) throw malformed('a Map with a key but no value');
        for (let i = 1; i < items.length; i += 2) map.set(this.#value(items[i]), this.#value(items[i + 1]));
        return;
      }
      case SET: {
        const set = shell as Set<unknown>;
        for (let i = 1; i < items.length; i++) set.add(this.#value(items[i]));
        return;
      }
    }
  }

  #fillArray(arr: unknown[]): void {
    for (let i = 0, n = arr.length; i < n; i++) {
      const child = arr[i];
      if (typeof child !== 'object' || child === null) continue;
      if (child instanceof Tag && child.items[0] === HOLE) delete arr[i];
      else arr[i] = this.#value(child);
    }
  }

  #fillPlain(obj: Record<string, unknown>): void {
    for (const key in obj) {
      const child = obj[key];
      if (typeof child === 'object' && child !== null) obj[key] = this.#value(child);
    }
  }

  /** Copies encoded properties (a map or a `[key, value, ...]` array) onto `target`. */
  #fillProps(target: Record<string, unknown>, props: unknown, define: boolean, enumerable = true): void {
    if (Array.isArray(props)) {
      if (props.length % 2 !== 0) throw malformed('a property list with a key but no value');
      for (let i = 0; i < props.length; i += 2) {
        const key = this.#value(props[i]);
        if (typeof key !== 'string') throw malformed('a property name that is not a string');
        Object.defineProperty(target, key, { value: this.#value(props[i + 1]), writable: true, enumerable, configurable: true });
      }
    } else if (typeof props === 'object' && props !== null && getPrototypeOf(props) === Object.prototype) {
      const source = props as Record<string, unknown>;
      for (const key in source) {
        const value = this.#value(source[key]);
        if (define) Object.defineProperty(target, key, { value, writable: true, enumerable, configurable: true });
        else target[key] = value;
      }
    } else {
      throw malformed('properties that are neither a map nor a list');
    }
  }

  #class(index: unknown): ClassEntry {
    const entry = this.#classes[index as number];
    if (entry === undefined || !Number.isInteger(index)) throw malformed(`class ${String(index)} is not in the class table`);
    return entry;
  }

  #buffer(segment: unknown): ArrayBuffer {
    const buffer = this.#buffers[segment as number];
    if (buffer === undefined || !Number.isInteger(segment)) throw malformed(`segment ${String(segment)} does not exist`);
    return buffer;
  }
}

function frameClassFor(items: unknown[]): FrameClass {
  const [, id, layout] = items;
  if (typeof id !== 'string' || typeof layout !== 'string') throw malformed('a frame without id and layout');
  const fn = `${id.slice(id.indexOf('#') + 1)}()`;
  const cls = frameClassById(id);
  if (cls === undefined) {
    throw new SnapshotLayoutError(
      `Cannot restore the frame of ${fn} (${id}): no loaded module declares that function. ` +
        'Resume the thread with the build it was started from, or restart it from its arguments.',
    );
  }
  if (cls.layout !== layout) {
    throw new SnapshotLayoutError(
      `Cannot restore the frame of ${fn} (${id}): the snapshot was taken with layout ${layout} ` +
        `but the loaded code has layout ${cls.layout}, so the function changed since. ` +
        'Resume the thread with the build it was started from, or restart it from its arguments.',
    );
  }
  return cls;
}

/** Whether restoring own properties onto an instance must bypass setters and read-only inherited properties. */
function needsDefine(entry: ClassEntry): boolean {
  if (entry.needsDefine === undefined) {
    let found = false;
    for (let p: object | null = entry.proto; p !== null && p !== Object.prototype && !found; p = getPrototypeOf(p) as object | null) {
      for (const key of Object.getOwnPropertyNames(p)) {
        const d = Object.getOwnPropertyDescriptor(p, key)!;
        if (d.set !== undefined || d.get !== undefined || (key !== 'constructor' && d.writable === false)) found = true;
      }
    }
    entry.needsDefine = found;
  }
  return entry.needsDefine;
}

function readString16(units: unknown): string {
  if (!(units instanceof Uint16Array)) throw malformed('a UTF-16 string without code units');
  let s = '';
  for (let i = 0; i < units.length; i += 8192) s += String.fromCharCode(...units.subarray(i, i + 8192));
  return s;
}

function describeRaw(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return typeof raw;
  return `${className(getPrototypeOf(raw) as object)} object`;
}
