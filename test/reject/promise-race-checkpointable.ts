// expect: PPP2P1008 line 10
// Promise.race over a checkpointable call and a timer: the call runs concurrently with the rest.
import { checkpoint } from 'ppp2p';
async function work(): Promise<string> {
  await checkpoint();
  return 'work';
}
export async function main(): Promise<string> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 1000));
  return await Promise.race([work(), timeout]);
}
