// A checkpoint inside a loop of 2500 iterations. Migrating at every one of them would mean
// 2500 fresh workers, so the differential test migrates this program at every 700th checkpoint
// (MIGRATE_EVERY below); every iteration still passes through the checkpoint site.
import { checkpoint } from 'ppp2p';

export const MIGRATE_EVERY = 700;

export async function main(): Promise<unknown> {
  let hash = 17;
  const seen: number[] = [];
  for (let i = 0; i < 2500; i++) {
    hash = (hash * 31 + i) % 1000003;
    if (i % 500 === 0) seen.push(hash);
    await checkpoint();
  }
  let inner = 0;
  for (let a = 0; a < 40; a++) {
    for (let b = 0; b < 30; b++) {
      inner += a ^ b;
      if (b % 10 === 9) await checkpoint();
    }
  }
  return { hash, seen, inner };
}
