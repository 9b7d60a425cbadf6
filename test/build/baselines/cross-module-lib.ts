// The callee module of cross-module.ts.
import { checkpoint as cp } from 'ppp2p';

export async function step(n: number): Promise<number> {
  await cp();
  return n + 1;
}

export class Tally {
  total = 0;
  async addSlowly(n: number): Promise<void> {
    await cp();
    this.total += n;
  }
}
