// Block-scoped bindings with the same name in different scopes, each live across a checkpoint:
// frames must keep them apart (shadowing), and `var` in a block is function-scoped.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const x = 'outer';
  {
    const x = 'block';
    await checkpoint();
    trace.push(x);
    {
      const x = 'inner';
      var hoisted = 'var in block';
      await checkpoint();
      trace.push(x);
    }
    trace.push(x);
  }
  for (let x = 0; x < 1; x++) {
    await checkpoint();
    trace.push(`loop x=${x}`);
  }
  if (x === 'outer') {
    let x = 1;
    x += 1;
    await checkpoint();
    trace.push(`if x=${x}`);
  }
  try {
    throw 'thrown x';
  } catch (x) {
    await checkpoint();
    trace.push(`catch x=${String(x)}`);
  }
  trace.push(x, hoisted);
  return trace;
}
