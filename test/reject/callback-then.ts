// expect: PPP2P1001 line 6
// A checkpoint inside a callback handed to Promise.prototype.then.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  const ready = Promise.resolve(1);
  return ready.then(async (v) => { await checkpoint(); return v + 1; });
}
