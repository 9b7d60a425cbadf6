// Logical assignment with awaits: `??=`, `||=` and `&&=` evaluate (and await) the right-hand
// side only when they assign, so a checkpointable call there runs conditionally.
import { checkpoint } from 'ppp2p';

async function produce(trace: string[], v: string): Promise<string> {
  trace.push(`produce ${v}`);
  await checkpoint();
  return v;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  let a: string | undefined;
  let b: string | undefined = 'kept';
  a ??= await produce(trace, 'A');
  b ??= await produce(trace, 'never-b');
  let c = '';
  let d = 'truthy';
  c ||= await produce(trace, 'C');
  d ||= await produce(trace, 'never-d');
  let e = 'yes';
  let f = '';
  e &&= await produce(trace, 'E');
  f &&= await produce(trace, 'never-f');
  const box: { v?: string; w: string } = { w: '' };
  box.v ??= await produce(trace, 'V');
  box.w ||= await produce(trace, 'W');
  trace.push(JSON.stringify({ a, b, c, d, e, f, box }));
  return trace;
}
