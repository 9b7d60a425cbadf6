// Mutual recursion between two checkpointable functions: frames of alternating classes.
import { checkpoint } from 'ppp2p';

async function isEven(n: number, path: string[]): Promise<boolean> {
  path.push(`even?${n}`);
  if (n === 0) return true;
  await checkpoint();
  return await isOdd(n - 1, path);
}

async function isOdd(n: number, path: string[]): Promise<boolean> {
  path.push(`odd?${n}`);
  if (n === 0) return false;
  const r = await isEven(n - 1, path);
  await checkpoint();
  return r;
}

export async function main(): Promise<unknown> {
  const path: string[] = [];
  const five = await isOdd(5, path);
  const two = await isEven(2, path);
  return { five, two, path };
}
