// Awaits inside template literals (several per template, nested templates) and in the
// substitutions of a tagged template: left-to-right evaluation around checkpoints.
import { checkpoint } from 'ppp2p';

async function word(trace: string[], w: string): Promise<string> {
  trace.push(`word ${w}`);
  await checkpoint();
  return w;
}

function tag(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.raw.map((s, i) => `${s}${i < values.length ? `<${String(values[i])}>` : ''}`).join('');
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const n = 3;
  const plain = `a ${await word(trace, 'b')} c ${n} ${await word(trace, 'd')}!`;
  const nested = `outer(${`inner(${await word(trace, 'e')})`}) ${(await word(trace, 'f')).length}`;
  const tagged = tag`x${await word(trace, 'g')}y${n * 2}z${await word(trace, 'h')}`;
  return { trace, plain, nested, tagged };
}
