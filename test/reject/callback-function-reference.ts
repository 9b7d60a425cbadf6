// expect: PPP2P1001 line 10
// A checkpointable function handed by reference to untransformed code: forEach calls it without
// awaiting, outside the caller's frame chain.
import { checkpoint } from 'ppp2p';
async function visit(n: number): Promise<void> {
  await checkpoint();
  console.log(n);
}
export async function main(items: number[]): Promise<void> {
  items.forEach(visit);
  await checkpoint();
}
