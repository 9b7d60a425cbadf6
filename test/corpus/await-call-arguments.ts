// Awaits among call arguments: arguments are evaluated left to right (side effects in order), the
// callee and receiver are evaluated before the arguments, spread arguments, and `new` with awaits.
import { checkpoint } from 'ppp2p';

async function slow(trace: string[], v: string): Promise<string> {
  trace.push(`slow ${v}`);
  await checkpoint();
  return v.toUpperCase();
}

function tap(trace: string[], v: string): string {
  trace.push(`tap ${v}`);
  return v;
}

class Joiner {
  parts: string[];
  constructor(...parts: string[]) {
    this.parts = parts;
  }
  join(sep: string, ...more: string[]): string {
    return [...this.parts, ...more].join(sep);
  }
}

function three(a: string, b: string, c: string): string {
  return `${a}-${b}-${c}`;
}

function pickJoiner(trace: string[], j: Joiner): Joiner {
  trace.push('receiver');
  return j;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const out: string[] = [];
  out.push(three(tap(trace, 'a'), await slow(trace, 'b'), tap(trace, 'c')));
  out.push(Math.max((await slow(trace, 'x')).length, 0, tap(trace, 'y').length + 1).toString());
  const j = new Joiner(await slow(trace, 'n1'), tap(trace, 'n2'));
  out.push(pickJoiner(trace, j).join(await slow(trace, 'sep'), tap(trace, 'm1'), ...[await slow(trace, 'm2'), 'm3']));
  return { trace, out };
}
