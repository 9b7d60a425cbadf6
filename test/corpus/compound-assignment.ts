// Compound assignment keeps JavaScript's evaluation order around an await: `x += await f()` reads
// x before the right-hand side runs (a write to x there is lost), `a[i++] = await f()` evaluates
// the target (and i++) first, and `o[key()] *= await f()` evaluates the key once, before f.
import { checkpoint } from 'ppp2p';

async function give<T>(v: T): Promise<T> {
  await checkpoint();
  return v;
}

async function bump(state: { x: number }, by: number): Promise<number> {
  state.x = 1000;
  await checkpoint();
  return by;
}

function keyOf(calls: { n: number }): string {
  calls.n++;
  return `k${calls.n}`;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let x = 1;
  x += ((x = 1000), await give(5));
  trace.push(`x=${x}`);

  const state = { x: 2 };
  state.x += await bump(state, 3);
  trace.push(`state.x=${state.x}`);

  const a = [0, 0, 0, 0];
  let i = 0;
  a[i++] = ((i += 10), await give(7));
  trace.push(`a=${a.join(',')} i=${i}`);

  const o: Record<string, number> = { k1: 3, k2: 4 };
  const calls = { n: 0 };
  o[keyOf(calls)]! *= ((o['k1'] = -1), await give(5));
  trace.push(`o=${JSON.stringify(o)} keyCalls=${calls.n}`);

  let s = 'a';
  s += (await give(1)) + (await give(2));
  const obj = { n: 2 };
  obj.n **= await give(3);
  let shift = 1;
  shift <<= await give(4);
  let idx = 0;
  const grid = [[0, 0], [0, 0]];
  grid[idx++]![idx++]! -= await give(9);
  trace.push(`s=${s} n=${obj.n} shift=${shift} grid=${JSON.stringify(grid)} idx=${idx}`);
  return trace;
}
