// Synchronous callbacks handed to other code inside a checkpointable function (map, filter,
// reduce, sort, replace, Array.from, JSON.parse reviver) are fine: they never checkpoint, and
// they are not live at any checkpoint.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  let calls = 0;
  const nums = [5, 3, 8, 1];
  await checkpoint();
  const doubled = nums.map((n) => {
    calls++;
    return n * 2;
  });
  await checkpoint();
  const big = doubled.filter((n) => n > 5).sort((a, b) => a - b);
  const total = big.reduce((acc, n) => acc + n, 0);
  const text = 'a-b-c'.replace(/-/g, () => `${++calls}`);
  const squares = Array.from({ length: 3 }, (_, i) => i * i);
  const parsed = JSON.parse('{"a":1,"b":2}', (k, v: unknown) => (k === 'a' ? 100 : v)) as unknown;
  await checkpoint();
  trace.push(doubled, big, total, text, squares, parsed, calls);
  return trace;
}
