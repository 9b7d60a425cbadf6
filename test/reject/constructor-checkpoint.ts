// expect: PPP2P1002 line 6
// A checkpoint reached from a constructor: a constructor cannot be suspended and resumed.
import { checkpoint } from 'ppp2p';
class Loader {
  ready = false;
  constructor() { void checkpoint(); this.ready = true; }
}
export async function main(): Promise<boolean> {
  await checkpoint();
  return new Loader().ready;
}
