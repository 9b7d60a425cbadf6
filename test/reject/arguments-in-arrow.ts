// expect: PPP2P1010 line 6
// `arguments` inside an arrow function refers to the enclosing checkpointable function's arguments.
import { checkpoint } from 'ppp2p';
export async function main(a: number): Promise<number> {
  await checkpoint();
  const count = (): number => arguments.length;
  return count() + a;
}
