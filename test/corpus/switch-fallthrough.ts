// switch with fallthrough between cases that checkpoint, a default clause in the middle,
// `continue` of the enclosing loop from inside a case, and a labeled break out of the loop.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  loop: for (let i = 0; i < 7; i++) {
    switch (i % 5) {
      case 0:
        trace.push(`${i}:zero`);
        await checkpoint();
      // falls through
      case 1:
        trace.push(`${i}:one-or-fall`);
        break;
      default:
        trace.push(`${i}:default`);
        await checkpoint();
      // falls through
      case 2:
        trace.push(`${i}:two-or-fall`);
        if (i === 2) continue loop;
        await checkpoint();
        break;
      case 4:
        trace.push(`${i}:four`);
        if (i === 4) {
          await checkpoint();
          break loop;
        }
    }
    trace.push(`${i}:after switch`);
  }
  return trace;
}
