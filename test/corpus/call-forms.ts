// The callee of a checkpointable call written in different ways: a default import, a renamed
// re-export, a namespace import, a module-level alias, an optional call on a possibly-missing
// object, an element-access method call, and a method that recurses through `this`.
import { checkpoint } from 'ppp2p';
import twice, { renamedStep } from './lib/more-steps.ts';
import * as steps from './lib/steps.ts';

async function base(trace: unknown[], n: number): Promise<number> {
  await checkpoint();
  trace.push(`base ${n}`);
  return n + 1;
}

const alias = base;

class Counter {
  calls = 0;
  async down(trace: unknown[], n: number): Promise<number> {
    this.calls++;
    if (n === 0) return 0;
    await checkpoint();
    return 1 + (await this.down(trace, n - 1));
  }
  async ['computed'](trace: unknown[]): Promise<string> {
    await checkpoint();
    trace.push('computed');
    return 'c';
  }
}

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  const out: unknown[] = [];
  out.push(await twice(trace, 4));
  out.push(await renamedStep(trace, 'renamed'));
  out.push(await steps.step(trace, 'namespace'));
  out.push(await alias(trace, 10));
  const present: Counter | undefined = new Counter();
  const missing: Counter | undefined = undefined as Counter | undefined;
  out.push(await present?.down(trace, 2));
  out.push((await missing?.down(trace, 5)) ?? 'skipped');
  out.push(await present['computed'](trace));
  out.push(present.calls);
  return { trace, out };
}
