// for-of over Map and Set with checkpoints: entries added during iteration are visited, an entry
// deleted before its turn is not, and updating a visited key does not revisit it.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const m = new Map<string, number>([
    ['one', 1],
    ['two', 2],
    ['three', 3],
  ]);
  for (const [k, v] of m) {
    await checkpoint();
    trace.push(`${k}=${v}`);
    if (k === 'one') {
      m.delete('two');
      m.set('four', 4);
      m.set('one', 100);
    }
  }
  trace.push(JSON.stringify([...m]));
  const s = new Set<number>([5, 1]);
  for (const x of s) {
    trace.push(`set ${x}`);
    if (x < 4) s.add(x + 3);
    if (x % 2 === 1) await checkpoint();
  }
  return trace;
}
