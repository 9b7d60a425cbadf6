// expect: PPP2P1001 line 5
// A checkpoint inside the executor handed to `new Promise`: the Promise constructor calls it.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  return new Promise<number>(async (resolve) => { await checkpoint(); resolve(1); });
}
