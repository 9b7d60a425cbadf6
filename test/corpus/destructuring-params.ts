// Destructured parameters with defaults (object, array, nested) in checkpointable functions; a
// default that refers to an earlier parameter.
import { checkpoint } from 'ppp2p';

interface Options {
  scale?: number;
  offset?: { x?: number; y?: number };
}

async function place({ scale = 2, offset: { x = 0, y = 0 } = {} }: Options, [first, second = first * 3]: [number, number?]): Promise<string> {
  const px = first * scale + x;
  await checkpoint();
  return `${px},${second * scale + y}`;
}

async function label(name: string, prefix = name.toUpperCase(), { sep }: { sep: string } = { sep: '-' }): Promise<string> {
  await checkpoint();
  return `${prefix}${sep}${name}`;
}

export async function main(): Promise<unknown> {
  const out: string[] = [];
  out.push(await place({}, [1]));
  out.push(await place({ scale: 10, offset: { y: 5 } }, [2, 4]));
  out.push(await label('node'));
  out.push(await label('node', 'n', { sep: ':' }));
  return out;
}
