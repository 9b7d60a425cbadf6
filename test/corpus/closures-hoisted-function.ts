// A nested function declaration (no checkpoint inside) that closes over locals and is called
// both before and after checkpoints: after a resume it must see the restored locals, and its
// writes must reach them.
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let text = 'start';
  let calls = 0;
  trace.push(describe());
  await checkpoint();
  text = 'middle';
  trace.push(describe());
  await checkpoint();
  trace.push(describe());
  return { trace, calls, text };

  function describe(): string {
    calls++;
    text += '!';
    return `${text}/${calls}`;
  }
}
