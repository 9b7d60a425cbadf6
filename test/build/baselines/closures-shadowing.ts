// Closures (not frame fields: re-created on resume), a hoisted nested function, and names renamed
// apart where a block shadows them. (`var` is covered by run.test.ts: lint forbids it here.)
import { checkpoint } from 'ppp2p';

export async function closures(): Promise<string[]> {
  const trace: string[] = [];
  let count = 0;
  const inc = (by: number): number => (count += by);
  inc(2);
  await checkpoint();
  trace.push(describe());
  const x = 'outer';
  {
    const x = 'inner';
    const copy = x;
    await checkpoint();
    trace.push(x, copy);
  }
  trace.push(x);
  return trace;

  function describe(): string {
    return `count=${count}`;
  }
}
