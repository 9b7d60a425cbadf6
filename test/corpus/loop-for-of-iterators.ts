// for-of over iterator objects rather than collections (`map.keys()`, `array.entries()`,
// `set.values()`), with checkpoints while the iterator is part-way through.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const m = new Map<string, number>([
    ['p', 1],
    ['q', 2],
    ['r', 3],
  ]);
  for (const key of m.keys()) {
    if (key !== 'p') await checkpoint();
    trace.push(`key ${key}`);
  }
  for (const [i, letter] of ['x', 'y'].entries()) {
    await checkpoint();
    trace.push(`${i}:${letter}`);
  }
  const s = new Set(['s1', 's2']);
  for (const v of s.values()) {
    trace.push(v);
    await checkpoint();
  }
  for (const [k, v] of Object.entries({ alpha: 1, beta: 2 })) {
    await checkpoint();
    trace.push(`${k}->${v}`);
  }
  return trace;
}
