// for-of over arrays with checkpoints: destructured elements, an array that grows while it is
// iterated (the iterator sees the new elements), and `continue`/`break` mid-iteration.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  const pairs: [string, number][] = [
    ['a', 1],
    ['b', 2],
    ['c', 3],
  ];
  for (const [name, n] of pairs) {
    await checkpoint();
    trace.push(`${name}${n}`);
  }
  const growing = [1, 2, 3];
  for (const x of growing) {
    if (x < 3) growing.push(x * 10);
    if (x === 2) continue;
    await checkpoint();
    trace.push(x);
    if (x === 10) break;
  }
  trace.push(growing);
  const sparse = [1, , 3];
  for (const v of sparse) {
    trace.push(v === undefined ? 'hole' : v);
    if (v === undefined) await checkpoint();
  }
  return trace;
}
