// An error that escapes the entry function after checkpoints: all three runs fail with the same
// error name and message (the differential test compares errors as well as results).
import { checkpoint } from 'ppp2p';

class QuotaError extends Error {
  override name = 'QuotaError';
}

async function consume(left: number): Promise<number> {
  await checkpoint();
  if (left <= 0) throw new QuotaError(`quota exhausted after checkpoints (left=${left})`);
  return await consume(left - 1);
}

export async function main(): Promise<unknown> {
  let used = 0;
  for (let i = 0; i < 2; i++) {
    await checkpoint();
    used++;
  }
  return await consume(used);
}
