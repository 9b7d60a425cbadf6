// expect: PPP2P1011 line 6
// A checkpoint inside for-await: the async iterator is live at the checkpoint and cannot be saved.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  let sum = 0;
  for await (const n of [Promise.resolve(1), Promise.resolve(2)]) { await checkpoint(); sum += n; }
  return sum;
}
