// Nested try/catch/finally with checkpoints at every level: an inner catch rethrows, the outer
// catch handles it, finallies run innermost first, once each.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let finallies = 0;
  try {
    trace.push('outer try');
    await checkpoint();
    try {
      trace.push('middle try');
      try {
        await checkpoint();
        throw new Error('deep');
      } catch (e) {
        await checkpoint();
        trace.push(`inner catch ${(e as Error).message}`);
        throw new Error(`wrapped(${(e as Error).message})`);
      } finally {
        finallies++;
        await checkpoint();
        trace.push('inner finally');
      }
    } finally {
      finallies++;
      trace.push('middle finally');
      await checkpoint();
    }
  } catch (e) {
    trace.push(`outer catch ${(e as Error).message}`);
    await checkpoint();
    try {
      await checkpoint();
      trace.push('try in catch');
    } finally {
      finallies++;
      trace.push('finally in catch');
    }
  } finally {
    finallies++;
    await checkpoint();
    trace.push('outer finally');
  }
  trace.push(`finallies=${finallies}`);
  return trace;
}
