// expect: PPP2P1009 line 5
// An immediately invoked async arrow that checkpoints.
import { checkpoint } from 'ppp2p';
export async function main(): Promise<number> {
  await (async () => { await checkpoint(); })();
  return 2;
}
