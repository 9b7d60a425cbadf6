// Closures created after one checkpoint and used before the next, reading and writing the
// enclosing function's locals: the locals' new values must survive the following checkpoints.
// The closures themselves are dead at every checkpoint (never used again), so nothing
// unserializable is live there.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let count = 0;
  let text = 'start';
  const items: number[] = [];
  await checkpoint();
  const inc = (by: number): number => (count += by);
  const append = (s: string): void => {
    text += `+${s}`;
  };
  inc(2);
  inc(3);
  append('a');
  [5, 6, 7].forEach((v) => items.push(v * count));
  trace.push(`after closures: count=${count} text=${text}`);
  await checkpoint();
  trace.push(`after checkpoint: count=${count} text=${text} items=${items.join(',')}`);
  for (let round = 0; round < 2; round++) {
    {
      const scale = (v: number): number => v * (round + 1);
      count = scale(count);
      const sorted = items.slice().sort((p, q) => q - p);
      items.splice(0, items.length, ...sorted.map(scale));
    }
    await checkpoint();
    trace.push(`round ${round}: count=${count} items=${items.join(',')}`);
  }
  return trace;
}
