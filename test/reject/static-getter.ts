// expect: PPP2P1003 line 5
// A checkpoint reached from a static getter.
import { checkpoint } from 'ppp2p';
class Config {
  static get current(): string { void checkpoint(); return 'cfg'; }
}
export async function main(): Promise<string> {
  await checkpoint();
  return Config.current;
}
