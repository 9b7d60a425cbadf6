// expect: PPP2P1003 line 6
// A checkpoint reached from a setter.
import { checkpoint } from 'ppp2p';
class Store {
  saved: number[] = [];
  set latest(v: number) { void checkpoint(); this.saved.push(v); }
}
export async function main(): Promise<number> {
  const s = new Store();
  s.latest = 3;
  await checkpoint();
  return s.saved.length;
}
