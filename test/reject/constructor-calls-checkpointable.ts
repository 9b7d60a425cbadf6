// expect: PPP2P1002 line 10
// A constructor that starts a checkpointable method: the method would run outside any frame chain.
import { checkpoint } from 'ppp2p';
class Cache {
  entries: string[] = [];
  async load(): Promise<void> {
    await checkpoint();
    this.entries.push('loaded');
  }
  constructor() { void this.load(); }
}
export async function main(): Promise<number> {
  await checkpoint();
  return new Cache().entries.length;
}
