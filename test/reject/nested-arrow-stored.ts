// expect: PPP2P1009 line 6
// A nested async arrow containing a checkpoint, stored in a local and called: its captured
// scope cannot be part of a frame.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  const tick = async (): Promise<void> => { await checkpoint(); };
  await tick();
  return 1;
}
