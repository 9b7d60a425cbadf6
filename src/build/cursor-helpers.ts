/**
 * Module-level helpers for for-of/for-in loops whose bodies contain sites.
 *
 * The loop state must be plain data, because a snapshot copies it: a *cursor* object holds the
 * iterated value and a position. Map and Set are iterated live with a native iterator kept in a
 * WeakMap beside the cursor; a cursor restored from a snapshot has no live iterator yet, so a new
 * one is advanced past the last key returned (`at`), which also survives the snapshot because the
 * codec keeps object identity. If that key was deleted since, the position falls back to the
 * count of entries returned (`n`), exact unless entries before it were deleted too.
 *
 * The helpers are plain JavaScript appended to the emitted module (after the code, so that the
 * source map of the code above is untouched); only modules that use them get them.
 */
import type { FileNames } from './names.ts';

export type HelperName = 'forOf' | 'forIn' | 'next';

const TEMPLATE = `
// ppp2p build: loop cursors that a checkpoint can save (plain data; live iterators kept aside).
var LIVE;
function FOR_OF(v) {
  if (v instanceof Map || v instanceof Set) return { src: v, at: undefined, n: 0 };
  if (typeof v === 'string' || Array.isArray(v) || ArrayBuffer.isView(v)) return { src: v, i: 0 };
  return { src: Array.from(v), i: 0 };
}
function FOR_IN(v) {
  const keys = [];
  for (const k in v) keys.push(k);
  return { src: v, keys, i: 0 };
}
function NEXT(c) {
  const src = c.src;
  if (c.keys !== undefined) {
    while (c.i < c.keys.length) {
      const k = c.keys[c.i++];
      if (k in Object(src)) return k;
    }
    return c;
  }
  if (typeof src === 'string') {
    if (c.i >= src.length) return c;
    const ch = String.fromCodePoint(src.codePointAt(c.i));
    c.i += ch.length;
    return ch;
  }
  if (!(src instanceof Map || src instanceof Set)) return c.i < src.length ? src[c.i++] : c;
  const live = (LIVE ??= new WeakMap());
  let it = live.get(c);
  if (it === undefined) {
    it = src instanceof Map ? src.entries() : src.values();
    if (c.n > 0) {
      let skip = c.n - 1;
      let index = 0;
      for (const k of src.keys()) {
        index++;
        if (k === c.at || (k !== k && c.at !== c.at)) {
          skip = index;
          break;
        }
      }
      for (let j = 0; j < skip; j++) it.next();
    }
    live.set(c, it);
  }
  const r = it.next();
  if (r.done) return c;
  c.n++;
  c.at = src instanceof Map ? r.value[0] : r.value;
  return r.value;
}
`;

/** The helpers one module uses, under names that no identifier of the module takes. */
export class ModuleHelpers {
  #names: Record<HelperName | 'live', string> | undefined;

  constructor(readonly fileNames: FileNames) {}

  use(name: HelperName): string {
    this.#names ??= {
      live: this.fileNames.unique('$ppp2pLive'),
      forOf: this.fileNames.unique('$ppp2pForOf'),
      forIn: this.fileNames.unique('$ppp2pForIn'),
      next: this.fileNames.unique('$ppp2pNext'),
    };
    return this.#names[name];
  }

  /** JavaScript to append to the module, if it uses any helper. */
  render(): string | undefined {
    const n = this.#names;
    if (n === undefined) return undefined;
    return TEMPLATE.replaceAll('LIVE', n.live).replaceAll('FOR_OF', n.forOf).replaceAll('FOR_IN', n.forIn).replaceAll('NEXT', n.next);
  }
}
