// Awaits in the iterated expression of for-of and for-in, evaluated once before the loop, and
// a checkpointable call per element.
import { checkpoint } from 'ppp2p';

async function list(trace: string[]): Promise<number[]> {
  trace.push('list');
  await checkpoint();
  return [3, 1, 2];
}

async function record(trace: string[]): Promise<Record<string, boolean>> {
  await checkpoint();
  trace.push('record');
  return { on: true, off: false };
}

async function visit(trace: string[], what: string): Promise<void> {
  await checkpoint();
  trace.push(`visit ${what}`);
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (const n of await list(trace)) await visit(trace, `n${n}`);
  for (const k in await record(trace)) await visit(trace, k);
  return trace;
}
