// expect: PPP2P1003 line 6
// A checkpoint reached from a getter: accessors cannot be suspended and resumed.
import { checkpoint } from 'ppp2p';
class Lazy {
  #value = 0;
  get value(): number { void checkpoint(); return this.#value; }
}
export async function main(): Promise<number> {
  await checkpoint();
  return new Lazy().value;
}
