// An exception thrown by a callee several frames down after a checkpoint, propagating through
// frames with and without try/finally; later checkpoints at shallower depths must still work
// (the call depth is reset correctly after the unwinding).
import { checkpoint } from 'ppp2p';

async function thrower(trace: string[], depth: number): Promise<number> {
  await checkpoint();
  if (depth === 0) throw new Error('bottom');
  try {
    return await thrower(trace, depth - 1);
  } finally {
    trace.push(`unwind ${depth}`);
  }
}

async function passthrough(trace: string[]): Promise<number> {
  const n = await thrower(trace, 2);
  trace.push('never');
  return n;
}

async function later(trace: string[], tag: string): Promise<string> {
  await checkpoint();
  trace.push(`later ${tag}`);
  return tag;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  try {
    await passthrough(trace);
  } catch (e) {
    trace.push(`caught ${(e as Error).message}`);
  }
  await later(trace, 'one');
  try {
    await thrower(trace, 0);
  } catch {
    await checkpoint();
    trace.push('caught again');
  }
  trace.push(await later(trace, 'two'));
  return trace;
}
