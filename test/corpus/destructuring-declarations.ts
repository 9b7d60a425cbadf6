// Destructuring declarations whose values live across checkpoints: object, array, nested,
// defaults (evaluated only when the value is undefined, and awaiting only then), rest elements.
import { checkpoint } from 'ppp2p';

async function fallback(trace: string[], name: string): Promise<string> {
  trace.push(`fallback ${name}`);
  await checkpoint();
  return `default-${name}`;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const config = { host: 'h', port: undefined as number | undefined, tags: ['x', 'y', 'z'], nested: { deep: { v: 7 } } };
  const {
    host,
    port = 8080,
    tags: [firstTag, ...otherTags],
    nested: {
      deep: { v },
    },
    missing = await fallback(trace, 'missing'),
    ...restOfConfig
  } = config as typeof config & { missing?: string };
  await checkpoint();
  trace.push(`${host}:${port} ${firstTag} [${otherTags.join('|')}] v=${v} ${missing} rest=${Object.keys(restOfConfig).join(',')}`);
  const present = { label: 'given' } as { label?: string };
  const { label = await fallback(trace, 'label') } = present;
  const [a, , b = await fallback(trace, 'b'), ...tail] = [1, 2, undefined, 4, 5];
  await checkpoint();
  trace.push(`label=${label} a=${a} b=${b} tail=${tail.join(',')}`);
  let x: number, y: number;
  [x, y] = [1, 2];
  await checkpoint();
  [x, y] = [y, x];
  const target: { p?: number; q?: number } = {};
  ({ p: target.p, q: target.q = (await fallback(trace, 'q')).length } = { p: x * 10 });
  await checkpoint();
  trace.push(`x=${x} y=${y} target=${JSON.stringify(target)}`);
  return trace;
}
