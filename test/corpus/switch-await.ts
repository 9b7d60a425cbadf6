// Awaits in a switch's discriminant and in case tests: case tests are evaluated lazily, in
// order, only until one matches.
import { checkpoint } from 'ppp2p';

async function pick(trace: string[], v: number): Promise<number> {
  trace.push(`pick ${v}`);
  await checkpoint();
  return v;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (const v of [2, 9]) {
    switch (await pick(trace, v)) {
      case await pick(trace, 1):
        trace.push('matched 1');
        break;
      case await pick(trace, 2):
        trace.push('matched 2');
      // falls through
      case await pick(trace, 3):
        trace.push('body 3');
        break;
      default: {
        const note = `default for ${v}`;
        await checkpoint();
        trace.push(note);
      }
    }
  }
  return trace;
}
