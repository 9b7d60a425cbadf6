// expect: PPP2P1009 line 6
// A nested async function declaration that checkpoints.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  let n = 0;
  async function inner(): Promise<void> { await checkpoint(); n++; }
  await inner();
  return n;
}
