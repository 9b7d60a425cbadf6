// thread.random() is part of the snapshot: the stream continues where it was after a resume, so
// native, transformed and migrated runs draw the same numbers.
import { checkpoint, thread } from 'ppp2p';

async function draw(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Math.floor(thread.random() * 1000));
    await checkpoint();
  }
  return out;
}

export async function main(): Promise<unknown> {
  const first = thread.random();
  await checkpoint();
  const batch = await draw(2);
  const shuffled = [1, 2, 3, 4, 5, 6];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(thread.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    if (i % 2 === 0) await checkpoint();
  }
  return { first, batch, shuffled, id: thread.id, count: thread.count };
}
