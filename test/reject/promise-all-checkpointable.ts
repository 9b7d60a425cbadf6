// expect: PPP2P1008 line 9
// Concurrent checkpointable calls in one thread: Promise.all over them.
import { checkpoint } from 'ppp2p';
async function work(n: number): Promise<number> {
  await checkpoint();
  return n;
}
export async function main(): Promise<number[]> {
  return await Promise.all([work(1), work(2)]);
}
