// Awaits on ordinary promises between checkpoints: timers, already-resolved promises, plain
// async helpers (not checkpointable), Promise.all over plain helpers, a rejected promise caught,
// awaiting a non-promise value. None of these promises is live at a checkpoint.
import { checkpoint } from 'ppp2p';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function plainDouble(n: number): Promise<number> {
  await sleep(1);
  return n * 2;
}

async function plainFail(): Promise<never> {
  await Promise.resolve();
  throw new Error('plain rejection');
}

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  await sleep(1);
  await checkpoint();
  trace.push(await Promise.resolve('resolved'));
  const d = await plainDouble(21);
  await checkpoint();
  trace.push(d);
  const all = await Promise.all([plainDouble(1), plainDouble(2), sleep(2).then(() => 'timer')]);
  await checkpoint();
  trace.push(all);
  try {
    await plainFail();
  } catch (e) {
    await checkpoint();
    trace.push((e as Error).message);
  }
  const plainValue = await 5;
  const settled = await Promise.allSettled([plainFail(), plainDouble(4)]);
  await checkpoint();
  trace.push(plainValue, settled.map((s) => s.status));
  for (let i = 0; i < 1; i++) {
    await sleep(1);
    await checkpoint();
    trace.push(`tick ${i}`);
  }
  return trace;
}
