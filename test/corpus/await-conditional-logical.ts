// Awaits inside conditional and short-circuit expressions: only the taken branch runs (and
// checkpoints), and the value of the other operand survives the checkpoint.
import { checkpoint } from 'ppp2p';

async function v<T>(trace: string[], name: string, value: T): Promise<T> {
  trace.push(name);
  await checkpoint();
  return value;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const results: unknown[] = [];
  for (const flag of [true, false]) {
    results.push(flag ? await v(trace, 'then', 1) : await v(trace, 'else', 2));
    results.push(flag && (await v(trace, 'rhs-and', 'both')));
    results.push(flag || (await v(trace, 'rhs-or', 'fallback')));
  }
  const maybe: number | null = null;
  results.push(maybe ?? (await v(trace, 'nullish-rhs', 7)));
  const zero = 0;
  results.push(zero ?? (await v(trace, 'never-nullish', 8)));
  const nested = (await v(trace, 'cond', 3)) > 2 ? 10 + (await v(trace, 'inner', 5)) : -1;
  results.push(nested);
  results.push((await v(trace, 'lhs-and', 'l')) && 'r', !(await v(trace, 'not', false)));
  return { trace, results };
}
