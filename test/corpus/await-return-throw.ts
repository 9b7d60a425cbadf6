// `return await` inside try (a rejection is caught by the enclosing catch), `throw await`, and
// assignment chains and sequence expressions with awaits.
import { checkpoint } from 'ppp2p';

async function value(trace: string[], v: number): Promise<number> {
  trace.push(`value ${v}`);
  await checkpoint();
  if (v < 0) throw new Error(`negative ${v}`);
  return v;
}

async function guarded(trace: string[], v: number): Promise<number> {
  try {
    return await value(trace, v);
  } catch (e) {
    await checkpoint();
    trace.push(`guarded caught ${(e as Error).message}`);
    return 0;
  }
}

async function throwsAwaited(trace: string[]): Promise<void> {
  throw await value(trace, 99);
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const out: unknown[] = [];
  out.push(await guarded(trace, 5), await guarded(trace, -1));
  try {
    await throwsAwaited(trace);
  } catch (e) {
    out.push(`thrown ${String(e)}`);
  }
  let a = 0;
  let b = 0;
  a = b = await value(trace, 7);
  const seq = (trace.push('seq first'), await value(trace, 8));
  const obj: Record<string, number> = { x: 1, y: 2 };
  delete obj[(await value(trace, 0)) === 0 ? 'x' : 'y'];
  const isIn = 'y' in obj && 3 in [0, 1, 2, 3];
  out.push(a, b, seq, obj, isIn);
  return { trace, out };
}
