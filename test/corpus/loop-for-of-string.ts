// for-of over a string iterates code points, not UTF-16 units: a surrogate pair must stay whole
// across a checkpoint taken between characters.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const text = 'a😀b€\u{1F680}!';
  let index = 0;
  for (const ch of text) {
    trace.push(`${index}:${ch}:${ch.length}`);
    index++;
    if (ch.length === 2 || ch === 'b') await checkpoint();
  }
  let reversed = '';
  for (const ch of 'xyz') {
    await checkpoint();
    reversed = ch + reversed;
  }
  trace.push(reversed);
  return trace;
}
