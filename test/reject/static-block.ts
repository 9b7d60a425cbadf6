// expect: PPP2P1004 line 5
// A checkpoint in a static initialization block.
import { checkpoint } from 'ppp2p';
class Registry {
  static { void checkpoint(); }
  static names: string[] = [];
}
export async function main(): Promise<number> {
  await checkpoint();
  return Registry.names.length;
}
