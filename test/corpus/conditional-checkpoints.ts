// Checkpoints in if/else chains and nested ifs, in single-statement (unbraced) bodies, and in
// both arms of an if whose locals differ.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (let n = 0; n < 6; n++) {
    if (n === 0) await checkpoint();
    else if (n === 1) {
      const tag = 'one';
      await checkpoint();
      trace.push(tag);
    } else if (n % 2 === 0) {
      if (n > 2) {
        await checkpoint();
        trace.push(`even big ${n}`);
      } else trace.push(`even small ${n}`);
    } else {
      const odd = n * 100;
      if (odd > 400) await checkpoint();
      else trace.push(`odd small ${odd}`);
      trace.push(`odd ${odd}`);
    }
    trace.push(`end ${n}`);
  }
  return trace;
}
