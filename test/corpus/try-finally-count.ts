// A restored frame must never re-run a finally block that already ran, nor skip one: every
// block entry and every finally execution is counted.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const counts = { tries: 0, finallies: 0, afterFinally: 0 };
  const trace: string[] = [];
  for (let i = 0; i < 2; i++) {
    try {
      counts.tries++;
      await checkpoint();
      trace.push(`try ${i}`);
    } finally {
      counts.finallies++;
      trace.push(`finally ${i} start`);
      await checkpoint();
      trace.push(`finally ${i} end`);
    }
    counts.afterFinally++;
    await checkpoint();
  }
  try {
    trace.push('no checkpoint in try');
  } finally {
    counts.finallies++;
    await checkpoint();
  }
  return { counts, trace };
}
