// expect: PPP2P1001 line 6
// A checkpoint inside an async callback handed to Array.prototype.forEach: forEach neither awaits
// the callback nor is transformed, so the checkpoint cannot capture the caller's frame.
import { checkpoint } from 'ppp2p';
export async function main(items: number[]): Promise<void> {
  items.forEach(async (item) => { await checkpoint(); console.log(item); });
}
