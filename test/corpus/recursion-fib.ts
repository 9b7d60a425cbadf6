// Recursion with a checkpoint in every call: the snapshot is a chain of frames of the same
// function, each with its own locals.
import { checkpoint } from 'ppp2p';

async function fib(n: number, trace: number[]): Promise<number> {
  await checkpoint();
  if (n < 2) return n;
  const a = await fib(n - 1, trace);
  const b = await fib(n - 2, trace);
  trace.push(n);
  return a + b;
}

export async function main(): Promise<unknown> {
  const trace: number[] = [];
  const value = await fib(4, trace);
  return { value, trace };
}
