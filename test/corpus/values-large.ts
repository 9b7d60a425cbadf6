// Larger state across checkpoints: a 1 MB typed array, 20 000 small objects, a Map of 5 000
// entries and a linked list 10 000 nodes long (deep nesting for the codec).
import { checkpoint } from 'ppp2p';

interface Link {
  v: number;
  next: Link | null;
}

export async function main(): Promise<unknown> {
  const samples = new Float64Array(131072);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i) * 1000;
  const points = Array.from({ length: 20000 }, (_, i) => ({ x: i, y: i % 7, tag: `p${i % 13}` }));
  const index = new Map<string, number[]>();
  for (let i = 0; i < 5000; i++) index.set(`k${i}`, [i, i * 2]);
  let head: Link | null = null;
  for (let i = 0; i < 10000; i++) head = { v: i, next: head };
  await checkpoint();
  samples[5] = -1;
  points[3]!.y = 99;
  await checkpoint();
  let length = 0;
  let sum = 0;
  for (let l = head; l !== null; l = l.next) {
    length++;
    sum += l.v;
  }
  let total = 0;
  for (const s of samples) total += s;
  return {
    total: Math.round(total),
    pointsY: points.reduce((a, p) => a + p.y, 0),
    tags: new Set(points.map((p) => p.tag)).size,
    index: index.size,
    k4999: index.get('k4999'),
    length,
    sum,
  };
}
