// Instances of user classes that extend Map and Array, with their own fields and methods, live
// across a checkpoint. Their internal slots (entries, elements) cannot be restored into a
// subclass instance, so the checkpoint fails naming the variable and the line
// (test/runtime/unserializable-at-checkpoint.test.ts). Error subclasses do survive: see
// test/corpus/values-edge-cases.ts and try-catch.ts.
import { checkpoint } from 'ppp2p';

class Histogram extends Map<string, number> {
  label = 'hist';
  bump(key: string): number {
    const n = (this.get(key) ?? 0) + 1;
    this.set(key, n);
    return n;
  }
}

class Stack extends Array<number> {
  peek(): number | undefined {
    return this[this.length - 1];
  }
}

export async function main(): Promise<unknown> {
  const h = new Histogram();
  h.bump('a');
  h.bump('b');
  const s = new Stack();
  s.push(1, 2);
  await checkpoint();
  h.bump('a');
  s.push(3);
  return {
    hist: [...h],
    label: h.label,
    isHistogram: h instanceof Histogram && h instanceof Map,
    stack: [...s],
    peek: s.peek(),
    isStack: s instanceof Stack && Array.isArray(s),
  };
}
