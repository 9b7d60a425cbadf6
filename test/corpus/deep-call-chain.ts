// A checkpoint five calls deep: every frame on the chain has its own locals (some with the same
// names) and must get the right one back, including values computed after the deep call returns.
import { checkpoint } from 'ppp2p';

async function level5(trace: string[], x: number): Promise<number> {
  const local = x * 5;
  trace.push(`5 enter ${x}`);
  await checkpoint();
  trace.push(`5 resumed local=${local}`);
  return local + 5;
}

async function level4(trace: string[], x: number): Promise<number> {
  const local = `four-${x}`;
  const r = await level5(trace, x + 1);
  return r + local.length;
}

async function level3(trace: string[], x: number): Promise<number> {
  const local = [x, x];
  const r = await level4(trace, x + 1);
  local.push(r);
  await checkpoint();
  return local.reduce((a, b) => a + b, 0);
}

async function level2(trace: string[], x: number): Promise<number> {
  const local = { x };
  const r = await level3(trace, x + 1);
  return r * 2 + local.x;
}

async function level1(trace: string[], x: number): Promise<number> {
  const local = x;
  let r = 0;
  for (let i = 0; i < 2; i++) r += await level2(trace, local + i);
  return r;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const value = await level1(trace, 1);
  return { value, trace };
}
