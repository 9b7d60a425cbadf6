// Per-iteration `let` bindings captured by closures: each iteration's closure sees its own copy,
// including the copy a `for (let ...)` loop makes for the update expression, with a checkpoint in
// every iteration after the closures of that iteration have been used.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const results: number[] = [];
  for (let i = 0; i < 2; i++) {
    const getters: (() => number)[] = [];
    for (let j = 0; j < 3; j++) {
      getters.push(() => i * 10 + j);
      if (j === 1) j++;
    }
    for (const g of getters) results.push(g());
    trace.push(`iteration ${i}: ${getters.length} closures`);
    getters.length = 0;
    await checkpoint();
  }
  for (let k = 0; k < 2; k++) {
    let captured = k;
    const bump = (): void => {
      captured += 100;
    };
    bump();
    await checkpoint();
    trace.push(`k=${k} captured=${captured}`);
  }
  // A closure created after the checkpoint writes this iteration's binding of the loop variable;
  // the next iteration starts from that value (per-iteration copy, then the update).
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    await checkpoint();
    const skip = (): void => {
      i++;
    };
    if (i === 1) skip();
    seen.push(i);
  }
  trace.push(`seen ${seen.join(',')}`);
  let shared = 0;
  for (const name of ['p', 'q']) {
    const add = (): number => (shared += name.length);
    add();
    await checkpoint();
    trace.push(`${name}: shared=${shared}`);
  }
  return { trace, results };
}
