// expect: PPP2P1012 line 6
// checkpoint() called without await: the snapshot would be taken while the function runs on.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  let n = 1;
  void checkpoint();
  n++;
  return n;
}
