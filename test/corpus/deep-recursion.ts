// A frame chain 300 calls deep: a snapshot holds 300 frames of one function, each with its own
// locals, and the resume re-enters them all in order.
import { checkpoint } from 'ppp2p';

async function descend(depth: number, path: number[]): Promise<number> {
  const mine = depth * 3;
  if (depth === 0) {
    await checkpoint();
    return 0;
  }
  if (depth % 100 === 0) await checkpoint();
  const below = await descend(depth - 1, path);
  if (depth % 50 === 0) path.push(depth);
  return below + mine;
}

export async function main(): Promise<unknown> {
  const path: number[] = [];
  const total = await descend(300, path);
  return { total, path };
}
