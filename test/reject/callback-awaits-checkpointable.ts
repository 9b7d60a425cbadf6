// expect: PPP2P1001 line 11
// The callback does not call checkpoint() itself but awaits a checkpointable function: the
// checkpoint is still reached through a callback handed to untransformed code.
import { checkpoint } from 'ppp2p';
async function step(n: number): Promise<number> {
  await checkpoint();
  return n + 1;
}
export async function main(items: number[]): Promise<void> {
  await step(0);
  items.forEach(async (item) => { await step(item); });
}
