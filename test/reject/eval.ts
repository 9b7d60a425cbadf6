// expect: PPP2P1006 line 7
// eval in a checkpointable function: it can read and create locals the frame does not know about.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<unknown> {
  const x = 1;
  await checkpoint();
  return eval('x + 1');
}
