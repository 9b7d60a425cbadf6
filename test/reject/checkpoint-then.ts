// expect: PPP2P1012 line 6
// checkpoint() consumed with .then() instead of await.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<string> {
  let s = 'a';
  await checkpoint().then(() => (s += 'b'));
  return s;
}
