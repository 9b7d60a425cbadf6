// break and continue through finally blocks that checkpoint, including a labeled continue that
// leaves two nested try/finally blocks (both finallies run, innermost first, once each).
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      if (i === 1) continue;
      if (i === 3) break;
      trace.push(`body ${i}`);
    } finally {
      await checkpoint();
      trace.push(`finally ${i}`);
    }
    trace.push(`after ${i}`);
  }
  outer: for (let i = 0; i < 1; i++) {
    try {
      for (let j = 0; j < 3; j++) {
        try {
          await checkpoint();
          if (j === 1) continue outer;
          trace.push(`inner body ${i}.${j}`);
        } finally {
          trace.push(`inner finally ${i}.${j}`);
          await checkpoint();
        }
      }
    } finally {
      trace.push(`outer finally ${i}`);
      await checkpoint();
    }
  }
  return trace;
}
