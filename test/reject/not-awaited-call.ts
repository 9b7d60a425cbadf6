// expect: PPP2P1008 line 9
// A checkpointable call whose promise is kept instead of awaited at once.
import { checkpoint } from 'ppp2p';
async function work(): Promise<number> {
  await checkpoint();
  return 1;
}
export async function main(): Promise<number> {
  const pending = work();
  await checkpoint();
  return await pending;
}
