// expect: PPP2P1001 line 5
// An async callback handed to Array.prototype.map that checkpoints (the usual Promise.all idiom).
import { checkpoint } from 'ppp2p';
export async function main(items: number[]): Promise<number[]> {
  return Promise.all(items.map(async (item) => { await checkpoint(); return item * 2; }));
}
