// Checkpointable functions and methods imported from another module of the build: the caller's
// frame keeps the callee's frame across modules, including recursion inside the callee module.
import { checkpoint } from 'ppp2p';
import { step, sumTo, Tally } from './lib/steps.ts';

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  const len = await step(trace, 'first');
  await checkpoint();
  trace.push(`len ${len}`);
  const total = await sumTo(2);
  trace.push(`sumTo(2)=${total}`);
  const tally = new Tally();
  tally.add('a');
  const r = await tally.addSlowly('b', 5);
  await checkpoint();
  trace.push(`tally ${tally.summary()} r=${r} history=${tally.history.join(';')} isTally=${tally instanceof Tally}`);
  return trace;
}
