// Classic `for` loops with checkpoints in the body: a `let` counter, a `var` counter read after the
// loop (function-scoped, hoisted), and a loop with an empty header part.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  let total = 0;
  for (let i = 0; i < 3; i++) {
    total += i;
    trace.push(`before ${i} total=${total}`);
    await checkpoint();
    trace.push(`after ${i}`);
  }
  for (var j = 10; j > 7; j -= 1) {
    await checkpoint();
    trace.push(j);
  }
  trace.push(`j after loop ${j}`);
  let k = 0;
  for (; k < 3; ) {
    k++;
    if (k === 2) await checkpoint();
  }
  trace.push({ total, k });
  return trace;
}
