// do-while: the body runs before the first test; `continue` jumps to the test, which itself
// awaits a checkpointable function.
import { checkpoint } from 'ppp2p';

async function keepGoing(trace: string[], i: number): Promise<boolean> {
  await checkpoint();
  trace.push(`test ${i}`);
  return i < 4;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let i = 0;
  do {
    i++;
    if (i === 2) continue;
    trace.push(`body ${i}`);
  } while (await keepGoing(trace, i));
  let once = 0;
  do {
    await checkpoint();
    once++;
  } while (false);
  let j = 10;
  do {
    j--;
    await checkpoint();
    if (j === 8) break;
  } while (j > 0);
  trace.push(`i=${i} once=${once} j=${j}`);
  return trace;
}
