// The iterated value of for-of and for-in is evaluated once: reassigning the variable that held
// it, or mutating the object, inside the loop does not change what a resumed loop iterates.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  let list = [1, 2, 3];
  for (const x of list) {
    await checkpoint();
    list = [100];
    trace.push(x);
  }
  let obj: Record<string, number> = { a: 1, b: 2 };
  for (const k in obj) {
    await checkpoint();
    obj = { z: 26 };
    trace.push(k);
  }
  let text = 'hi';
  for (const ch of text) {
    text = 'replaced';
    await checkpoint();
    trace.push(ch);
  }
  trace.push(list, obj, text);
  return trace;
}
