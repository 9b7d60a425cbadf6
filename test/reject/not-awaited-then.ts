// expect: PPP2P1008 line 9
// A checkpointable call consumed with .then() instead of await.
import { checkpoint } from 'ppp2p';
async function work(): Promise<number> {
  await checkpoint();
  return 1;
}
export async function main(): Promise<number> {
  return await work().then((n) => n + 1);
}
