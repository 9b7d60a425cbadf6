// expect: PPP2P1001 line 6
// A checkpoint inside a timer callback: the timer runs it outside the thread's frame chain.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<void> {
  await checkpoint();
  setTimeout(async () => { await checkpoint(); }, 10);
}
