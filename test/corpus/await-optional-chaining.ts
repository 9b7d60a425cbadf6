// Awaits inside optional chains: when the chain short-circuits on null/undefined, the awaited
// arguments and computed keys to its right are never evaluated.
import { checkpoint } from 'ppp2p';

class Box {
  constructor(readonly items: Record<string, number>) {}
  get(key: string): number | undefined {
    return this.items[key];
  }
}

async function k(trace: string[], key: string): Promise<string> {
  trace.push(`key ${key}`);
  await checkpoint();
  return key;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const present: Box | undefined = new Box({ a: 1, b: 2 });
  const absent: Box | undefined = undefined as Box | undefined;
  const out: unknown[] = [];
  out.push(present?.get(await k(trace, 'a')));
  out.push(absent?.get(await k(trace, 'never-call')));
  out.push(present?.items[await k(trace, 'b')]);
  out.push(absent?.items[await k(trace, 'never-index')]);
  const table: { rows?: { cells?: number[] } } = { rows: {} };
  out.push(table.rows?.cells?.[(await k(trace, 'never-deep')).length]);
  out.push((await k(trace, 'then-chain'))?.toUpperCase());
  const fn: ((n: string) => string) | undefined = undefined as ((n: string) => string) | undefined;
  out.push(fn?.(await k(trace, 'never-fn')));
  return { trace, out: out.map((x) => (x === undefined ? 'undefined' : x)) };
}
