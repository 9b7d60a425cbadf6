// expect: PPP2P1010 line 6
// `arguments` in a checkpointable function: it aliases the parameters, which a frame cannot restore.
import { checkpoint } from 'ppp2p';
export async function main(a: number, b: number): Promise<number> {
  await checkpoint();
  return arguments.length + a + b;
}
