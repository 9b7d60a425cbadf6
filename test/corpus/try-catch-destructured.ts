// A destructured catch parameter and a pending return value from a checkpointable call held
// across a checkpoint in finally.
import { checkpoint } from 'ppp2p';

async function compute(n: number): Promise<number> {
  await checkpoint();
  if (n < 0) throw Object.assign(new Error('negative'), { code: 'ENEG', detail: { n } });
  return n * 3;
}

async function guarded(log: string[], n: number): Promise<number> {
  try {
    return await compute(n);
  } catch ({ message, code, detail }: any) {
    await checkpoint();
    log.push(`${String(message)} ${String(code)} ${JSON.stringify(detail)}`);
    return -1;
  } finally {
    await checkpoint();
    log.push(`finally ${n}`);
  }
}

export async function main(): Promise<unknown> {
  const log: string[] = [];
  const a = await guarded(log, 4);
  const b = await guarded(log, -2);
  return { a, b, log };
}
