// expect: PPP2P1011 line 10
// A checkpointable call (not checkpoint() itself) inside a for-await loop.
import { checkpoint } from 'ppp2p';
async function step(n: number): Promise<void> {
  await checkpoint();
  console.log(n);
}
export async function main(): Promise<void> {
  const source = [Promise.resolve(1), Promise.resolve(2)];
  for await (const n of source) await step(n);
}
