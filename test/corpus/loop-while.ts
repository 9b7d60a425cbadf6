// while loops: a checkpoint in the body, a condition that awaits a checkpointable function, and
// `while (true)` left by `break` after a checkpoint.
import { checkpoint } from 'ppp2p';

async function more(state: { left: number; log: string[] }): Promise<boolean> {
  state.log.push(`more? ${state.left}`);
  await checkpoint();
  return state.left-- > 0;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let n = 0;
  while (n < 2) {
    await checkpoint();
    n++;
    trace.push(`n=${n}`);
  }
  const state = { left: 2, log: trace };
  let rounds = 0;
  while (await more(state)) rounds++;
  trace.push(`rounds=${rounds} left=${state.left}`);
  let x = 1;
  while (true) {
    x *= 3;
    await checkpoint();
    if (x > 20) break;
    trace.push(`x=${x}`);
  }
  trace.push(`final x=${x}`);
  return trace;
}
