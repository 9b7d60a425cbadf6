// expect: PPP2P1012 line 5
// checkpoint()'s promise kept in a variable and awaited later.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<string> {
  const later = checkpoint();
  const s = 'x';
  await later;
  return s;
}
