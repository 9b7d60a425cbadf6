// expect: PPP2P1005 line 4
// A checkpoint inside an async generator: generator state cannot be captured in a frame.
import { checkpoint } from 'ppp2p';
async function* numbers(): AsyncGenerator<number> { for (let i = 0; i < 3; i++) { await checkpoint(); yield i; } }
export async function main(): Promise<number> {
  let sum = 0;
  for await (const n of numbers()) sum += n;
  return sum;
}
