/**
 * Field validators for protocol messages: a message type is a plain object of fields, each field a small
 * hand-written checker that returns the value (typed) or throws a {@link FieldError}. The TypeScript type of
 * a message is derived from its schema, so the validator and the type cannot drift apart.
 *
 * ```ts
 * const schema = { id: f.uint, name: f.string(), tags: f.optional(f.array(f.string({ max: 32 }))) };
 * type T = Infer<typeof schema>;   // { id: number; name: string; tags?: string[] | undefined }
 * ```
 * Checkers copy what they accept into fresh objects and arrays, so a handler never sees a field the
 * schema does not name (and never an own `__proto__`).
 * @internal Used by messages.ts and virtual-computer-messages.ts; applications never see it.
 */

import { FieldError } from './errors.ts';

export interface Field<T> {
  /** True for fields made with {@link f.optional}: the key may be absent (or undefined). */
  readonly optional: boolean;
  /** What the field holds, in words (used in error messages). */
  readonly expected: string;
  /** Returns the accepted value, or throws a FieldError whose `at` is `at`. */
  check(value: unknown, at: string): T;
}

export type Schema = Record<string, Field<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type FieldType<F> = F extends Field<infer T> ? T : never;
type OptionalKeys<S> = { [K in keyof S]: S[K] extends { readonly optional: true } ? K : never }[keyof S];
/** The object type a schema accepts. */
export type Infer<S extends Schema> = Simplify<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: FieldType<S[K]> } & { [K in OptionalKeys<S>]?: FieldType<S[K]> }
>;

/** A value described in words for error messages, without echoing attacker-controlled content at length. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'bigint') return 'a 64-bit integer';
  if (typeof value === 'object') {
    const ctor = (value as object).constructor as { name?: unknown } | undefined;
    return ctor === Object || ctor === undefined ? 'an object' : `a ${typeof ctor.name === 'string' ? ctor.name : 'value'}`;
  }
  return `a ${typeof value}`;
}

function field<T>(expected: string, check: (value: unknown, at: string) => T): Field<T> & { readonly optional: false } {
  return { optional: false, expected, check };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Checks `value` against `schema`, returning a fresh object with only the schema's keys. */
export function checkObject<S extends Schema>(schema: S, value: unknown, at: string): Infer<S> {
  if (!isPlainObject(value)) throw new FieldError(at || 'message', 'a map', describeValue(value));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) {
    const fieldSpec = schema[key]!;
    const v = Object.hasOwn(value, key) ? value[key] : undefined;
    if (v === undefined) {
      if (!fieldSpec.optional) throw new FieldError(at === '' ? key : `${at}.${key}`, fieldSpec.expected, 'nothing');
      continue;
    }
    out[key] = checkAt(fieldSpec, v, at, key);
  }
  return out as Infer<S>;
}

/**
 * Checks `v` as field `key` (a name or an array index) under `at`. The path is built only when the check fails:
 * checking again with it (checks are pure) throws the same error with the exact path, so the message stays the
 * same and the common case, thousands of valid array elements per frame, builds no strings.
 */
function checkAt<T>(field: Field<T>, v: unknown, at: string, key: string | number): T {
  try {
    return field.check(v, UNBUILT_PATH);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    return field.check(v, typeof key === 'number' ? `${at}[${key}]` : at === '' ? key : `${at}.${key}`);
  }
}

/** Stands for a path not built yet (see checkAt); never seen in an error. */
const UNBUILT_PATH = '<path>';

interface LengthLimit {
  /** Inclusive maximum length. */
  max?: number;
}

/** The field checkers. Each is either a Field or a function returning one (when it takes limits). */
export const f = {
  /** A safe non-negative integer (request ids, counters, incarnation numbers). */
  uint: field('a non-negative integer', (v, at) => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    throw new FieldError(at, 'a non-negative integer', describeValue(v));
  }),
  /**
   * A non-negative integer of at most `max` (inclusive): counters from the wire whose arithmetic must stay exact
   * (`n + 1` below 2^53) or that size something (epochs, sequence numbers, thread ids, incarnations).
   */
  uintMax(max: number) {
    const expected = `a non-negative integer of at most ${max}`;
    return field(expected, (v, at) => {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max) return v;
      throw new FieldError(at, expected, describeValue(v));
    });
  },
  /** A safe integer. */
  int: field('an integer', (v, at) => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    throw new FieldError(at, 'an integer', describeValue(v));
  }),
  /** A finite number. */
  number: field('a finite number', (v, at) => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    throw new FieldError(at, 'a finite number', describeValue(v));
  }),
  boolean: field('a boolean', (v, at) => {
    if (typeof v === 'boolean') return v;
    throw new FieldError(at, 'a boolean', describeValue(v));
  }),
  /** A string, at most `max` UTF-16 code units long (default 1 MiB). */
  string({ max = 1 << 20 }: LengthLimit = {}) {
    const expected = `a string of at most ${max} characters`;
    return field(expected, (v, at) => {
      if (typeof v === 'string' && v.length <= max) return v;
      throw new FieldError(at, expected, describeValue(v));
    });
  },
  /** A peer or client id: 1 to 64 characters of [A-Za-z0-9._:-]. */
  peerId: field('a peer id (1-64 characters of A-Z a-z 0-9 . _ : -)', (v, at) => {
    if (typeof v === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(v)) return v;
    throw new FieldError(at, 'a peer id (1-64 characters of A-Z a-z 0-9 . _ : -)', describeValue(v));
  }),
  /** A ws:// or wss:// URL of at most 2048 characters. */
  url: field('a ws:// or wss:// URL', (v, at) => {
    if (typeof v === 'string' && v.length <= 2048 && /^wss?:\/\/[^\s]+$/.test(v)) return v;
    throw new FieldError(at, 'a ws:// or wss:// URL', describeValue(v));
  }),
  /** Binary data (msgpack bin); `length` for an exact size, `max` for a limit. */
  bytes({ length, max }: LengthLimit & { length?: number } = {}) {
    const expected = length !== undefined ? `${length} bytes` : max !== undefined ? `at most ${max} bytes` : 'bytes';
    return field(expected, (v, at) => {
      if (v instanceof Uint8Array && (length === undefined || v.length === length) && (max === undefined || v.length <= max)) {
        return v;
      }
      throw new FieldError(at, expected, describeValue(v));
    });
  },
  /** One of the given string or number constants. */
  literal<const L extends readonly (string | number)[]>(...values: L) {
    const expected = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
    return field(expected, (v, at) => {
      if ((values as readonly unknown[]).includes(v)) return v as L[number];
      throw new FieldError(at, expected, describeValue(v));
    });
  },
  /** An array whose every element passes `item`; at most `max` elements (default 1,000,000). */
  array<T>(item: Field<T>, { max = 1_000_000 }: LengthLimit = {}) {
    const expected = `an array of at most ${max} × ${item.expected}`;
    return field(expected, (v, at) => {
      if (!Array.isArray(v) || v.length > max) throw new FieldError(at, expected, describeValue(v));
      const out: T[] = new Array<T>(v.length);
      for (let i = 0; i < v.length; i++) {
        const el: unknown = v[i];
        if (el === undefined && !item.optional) throw new FieldError(`${at}[${i}]`, item.expected, 'nothing');
        out[i] = checkAt(item, el, at, i);
      }
      return out;
    });
  },
  /** A nested map checked against its own schema. */
  object<S extends Schema>(schema: S) {
    return field<Infer<S>>('a map', (v, at) => checkObject(schema, v, at));
  },
  /** A map from string keys to values that pass `value`; at most `max` keys (default 100,000). */
  record<T>(value: Field<T>, { max = 100_000 }: LengthLimit = {}) {
    const expected = `a map of at most ${max} entries of ${value.expected}`;
    return field<Record<string, T>>(expected, (v, at) => {
      if (!isPlainObject(v)) throw new FieldError(at, expected, describeValue(v));
      const keys = Object.keys(v);
      if (keys.length > max) throw new FieldError(at, expected, `${keys.length} entries`);
      const out: Record<string, T> = Object.create(null) as Record<string, T>;
      for (const k of keys) out[k] = value.check(v[k], `${at}[${JSON.stringify(k)}]`);
      return out;
    });
  },
  /** `null` or a value that passes `inner`. */
  nullable<T>(inner: Field<T>) {
    return field<T | null>(`null or ${inner.expected}`, (v, at) => (v === null ? null : inner.check(v, at)));
  },
  /** Any value at all (application payloads that another codec checks, e.g. snapshots). */
  unknown: field<unknown>('any value', (v) => v),
  /** The field may be absent; when present it must pass `inner`. */
  optional<T>(inner: Field<T>): Field<T | undefined> & { readonly optional: true } {
    return { optional: true, expected: inner.expected, check: (v, at) => (v === undefined ? undefined : inner.check(v, at)) };
  },
};

/** A table of message schemas keyed by message type (`t`). */
export type MessageSchemas = Record<string, Schema>;
/** The discriminated union of the message types a schema table defines. */
export type MessagesOf<T extends MessageSchemas> = {
  [K in keyof T & string]: Simplify<{ t: K } & Infer<T[K]>>;
}[keyof T & string];
