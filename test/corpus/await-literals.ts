// Awaits inside object and array literals: property values, computed keys, spreads and
// shorthand, evaluated left to right around checkpoints; later keys overwrite earlier ones.
import { checkpoint } from 'ppp2p';

async function get<T>(trace: string[], label: string, v: T): Promise<T> {
  trace.push(label);
  await checkpoint();
  return v;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const shorthand = 'short';
  const base = { keep: 1, over: 'base' };
  const obj = {
    first: trace.push('first evaluated'),
    [await get(trace, 'computed key', 'dyn')]: await get(trace, 'computed value', 10),
    ...base,
    over: await get(trace, 'override', 'mine'),
    shorthand,
    nested: { deep: ['d'] },
    ...(await get(trace, 'spread', { spread: true })),
  };
  const arr = [trace.push('arr first'), await get(trace, 'a1', 'x'), ...(await get(trace, 'a2', [1, 2])), , 'last'];
  return { trace, obj, arr: arr.map((v) => (v === undefined ? 'hole' : v)), arrLength: arr.length };
}
