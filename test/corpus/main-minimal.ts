// The smallest program: checkpoints directly in the entry function with no locals at all.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  await checkpoint();
  await checkpoint();
  return 'done';
}
