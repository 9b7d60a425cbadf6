// Sites in finally: completion records for return, throw, break and continue through it.
import { checkpoint } from 'ppp2p';

export async function finish(items: number[]): Promise<number> {
  let sum = 0;
  for (const x of items) {
    try {
      if (x < 0) continue;
      if (x > 100) break;
      sum += x;
      if (sum > 50) return sum;
    } finally {
      await checkpoint();
    }
  }
  return sum;
}
