// expect: PPP2P1004 line 5
// A checkpoint in a class field initializer.
import { checkpoint } from 'ppp2p';
class Job {
  started = checkpoint();
  name = 'job';
}
export async function main(): Promise<string> {
  await checkpoint();
  return new Job().name;
}
