import * as $rt from "ppp2p/runtime";
// for-of over an array (index loop), over a Map and a string (cursor), for-in (key cursor).
import { checkpoint } from 'ppp2p/thread';
class iterate$Frame extends $rt.Frame {
    static id = "for-of-in.ts#iterate";
    static layout = "b581de340ff201eb";
    static fields = ["xs", "m", "s", "o", "out", "x", "k", "v", "ch", "key", "$a1", "$i1", "$c1", "$c2", "$c3"];
    static sites = [0, 7, 11, 15, 19];
    static file = "for-of-in.ts";
    static fn;
}
iterate$Frame.fn = iterate;
$rt.registerFrame(iterate$Frame);
export async function iterate(xs, m, s, o) {
    const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(iterate$Frame);
    let $pc = $f.pc;
    if ($pc !== 0) {
        xs = $f.xs;
        m = $f.m;
        s = $f.s;
        o = $f.o;
    }
    const out = $pc === 0 ? [] : $f.out;
    if ($pc <= 1) {
        for (let $a1 = $pc === 0 ? xs : $f.$a1, $i1 = $pc === 0 ? 0 : $f.$i1; $pc !== 0 || $i1 < $a1.length; $i1++) {
            const x = $pc === 0 ? $a1[$i1] : $f.x;
            if ($pc === 1) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 1;
                $f.xs = xs;
                $f.m = m;
                $f.s = s;
                $f.o = o;
                $f.out = out;
                $f.x = x;
                $f.$a1 = $a1;
                $f.$i1 = $i1;
                await $t.snapshot($d);
            }
            out.push(String(x));
        }
    }
    if ($pc <= 2) {
        for (let $c1 = $pc === 0 ? $ppp2pForOf(m) : $f.$c1, $e1; $pc !== 0 || ($e1 = $ppp2pNext($c1)) !== $c1;) {
            let k = $pc === 0 ? void 0 : $f.k, v = $pc === 0 ? void 0 : $f.v;
            if ($pc === 0) {
                [k, v] = $e1;
            }
            if ($pc === 2) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 2;
                $f.xs = xs;
                $f.m = m;
                $f.s = s;
                $f.o = o;
                $f.out = out;
                $f.k = k;
                $f.v = v;
                $f.$c1 = $c1;
                await $t.snapshot($d);
            }
            out.push(`${k}=${v}`);
        }
    }
    if ($pc <= 3) {
        for (let $c2 = $pc === 0 ? $ppp2pForOf(s) : $f.$c2, $e2; $pc !== 0 || ($e2 = $ppp2pNext($c2)) !== $c2;) {
            const ch = $pc === 0 ? $e2 : $f.ch;
            if ($pc === 3) {
                $pc = 0;
            }
            else if ($t.due()) {
                $f.pc = 3;
                $f.xs = xs;
                $f.m = m;
                $f.s = s;
                $f.o = o;
                $f.out = out;
                $f.ch = ch;
                $f.$c2 = $c2;
                await $t.snapshot($d);
            }
            out.push(ch);
        }
    }
    for (let $c3 = $pc === 0 ? $ppp2pForIn(o) : $f.$c3, $e3; $pc !== 0 || ($e3 = $ppp2pNext($c3)) !== $c3;) {
        const key = $pc === 0 ? $e3 : $f.key;
        if ($pc === 4) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 4;
            $f.xs = xs;
            $f.m = m;
            $f.s = s;
            $f.o = o;
            $f.out = out;
            $f.key = key;
            $f.$c3 = $c3;
            await $t.snapshot($d);
        }
        out.push(key);
    }
    return out;
}
$rt.registerExport(iterate, import.meta.url, "iterate");

// ppp2p build: loop cursors that a checkpoint can save (plain data; live iterators kept aside).
var $ppp2pLive;
function $ppp2pForOf(v) {
  if (v instanceof Map || v instanceof Set) return { src: v, at: undefined, n: 0 };
  if (typeof v === 'string' || Array.isArray(v) || ArrayBuffer.isView(v)) return { src: v, i: 0 };
  return { src: Array.from(v), i: 0 };
}
function $ppp2pForIn(v) {
  const keys = [];
  for (const k in v) keys.push(k);
  return { src: v, keys, i: 0 };
}
function $ppp2pNext(c) {
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
  const live = ($ppp2pLive ??= new WeakMap());
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
//# sourceMappingURL=for-of-in.js.map