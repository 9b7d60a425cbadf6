// Default and rest parameters: rest arrays live across checkpoints, defaults see earlier
// parameters, `undefined` triggers a default and `null` does not.
import { checkpoint } from 'ppp2p';

async function collect(tag: string, times = 1, ...items: (string | null)[]): Promise<string> {
  const acc: string[] = [];
  for (let t = 0; t < times; t++) {
    await checkpoint();
    acc.push(`${tag}${t}[${items.map(String).join(',')}]`);
  }
  return acc.join(' ');
}

async function sum(first = 100, ...more: number[]): Promise<number> {
  await checkpoint();
  let total = first;
  for (const m of more) total += m;
  return total;
}

export async function main(): Promise<unknown> {
  return [
    await collect('a'),
    await collect('b', 2, 'x', null),
    await collect('c', undefined, 'y'),
    await sum(),
    await sum(undefined, 1, 2),
    await sum(...[5, 6, 7]),
  ];
}
