// Awaits in every part of a `for` header: the initializer, the test (re-evaluated each iteration)
// and the update, each calling a checkpointable function.
import { checkpoint } from 'ppp2p';

async function start(trace: string[]): Promise<number> {
  await new Promise<void>((r) => setTimeout(r, 1));
  trace.push('start');
  return 1;
}

async function bound(trace: string[], n: number): Promise<number> {
  await checkpoint();
  trace.push(`bound ${n}`);
  return n;
}

async function next(trace: string[], i: number): Promise<number> {
  trace.push(`next from ${i}`);
  await checkpoint();
  return i + 1;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let limit = 3;
  for (let i = await start(trace); i < (await bound(trace, limit)); i = await next(trace, i)) {
    trace.push(`body ${i}`);
    if (i === 2) limit = 4;
  }
  return trace;
}
