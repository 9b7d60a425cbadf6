// while, do-while, sites in a for header (desugared), labeled break and continue.
import { checkpoint } from 'ppp2p';

async function next(i: number): Promise<number> {
  await checkpoint();
  return i + 1;
}

export async function loops(n: number): Promise<number> {
  let total = 0;
  while (total < n) {
    await checkpoint();
    total++;
  }
  do {
    total += await next(total);
  } while (total < 2 * n);
  for (let i = 0; i < n; i = await next(i)) {
    if (i === 1) continue;
    total += i;
  }
  outer: for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j > i) continue outer;
      await checkpoint();
      if (i + j > n) break outer;
    }
  }
  return total;
}
