// Errors thrown by a checkpointable callee inside a loop: caught per iteration with continue,
// the loop and call depth stay correct afterwards.
import { checkpoint } from 'ppp2p';

async function risky(n: number): Promise<number> {
  await checkpoint();
  if (n % 3 === 0) throw new Error(`multiple of three: ${n}`);
  await checkpoint();
  return n * n;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let sum = 0;
  for (let n = 1; n <= 4; n++) {
    let r: number;
    try {
      r = await risky(n);
    } catch (e) {
      trace.push((e as Error).message);
      continue;
    }
    sum += r;
    trace.push(`${n}^2=${r}`);
  }
  trace.push(`sum=${sum}`);
  return trace;
}
