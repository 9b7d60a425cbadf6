// Labeled break and continue across nested loops with checkpoints in the inner loop, and a
// labeled block left early with `break label`.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  outer: for (let i = 0; i < 4; i++) {
    inner: for (let j = 0; j < 4; j++) {
      if (j === 1) continue inner;
      if (i === 1 && j === 2) continue outer;
      if (i === 3) break outer;
      await checkpoint();
      trace.push(`${i}.${j}`);
      if (j === 2) break inner;
    }
    trace.push(`end row ${i}`);
  }
  let k = 0;
  scan: while (k < 10) {
    k++;
    for (const w of ['a', 'b']) {
      if (k === 2 && w === 'b') {
        await checkpoint();
        continue scan;
      }
      if (k === 3) break scan;
      trace.push(`${k}${w}`);
    }
  }
  trace.push(`k=${k}`);
  block: {
    trace.push('block start');
    await checkpoint();
    if (k === 3) break block;
    trace.push('never');
  }
  trace.push('after block');
  return trace;
}
