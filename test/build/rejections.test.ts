/**
 * Rejections: each unsupported construct is a build error with its code at the line of the
 * offending construct, with a hint, and nothing is written. Constructs that look similar but are
 * fine build without diagnostics.
 */
import { describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatDiagnostic } from '../../src/build/index.ts';
import { buildSources } from './support/build.ts';

const head = "import { checkpoint } from 'ppp2p';\n"; // line 1
const work = 'async function work(): Promise<number> { await checkpoint(); return 1; }\n'; // a checkpointable helper

interface Case {
  name: string;
  code: string;
  line: number;
  source: string;
}

const cases: Case[] = [
  {
    name: 'an async callback handed to forEach',
    code: 'PPP2P1001',
    line: 3,
    source: `${head}export async function main(xs: number[]): Promise<void> {
  xs.forEach(async () => { await checkpoint(); });
}`,
  },
  {
    name: 'a checkpointable function passed by reference to setTimeout',
    code: 'PPP2P1001',
    line: 4,
    source: `${head}${work}export async function main(): Promise<void> {
  setTimeout(work, 1);
  await work();
}`,
  },
  {
    name: 'a checkpoint in a constructor',
    code: 'PPP2P1002',
    line: 2,
    source: `${head}class A { constructor() { void checkpoint(); } }
export async function main(): Promise<A> { await checkpoint(); return new A(); }`,
  },
  {
    name: 'a checkpoint in a getter',
    code: 'PPP2P1003',
    line: 2,
    source: `${head}class A { get x(): number { void checkpoint(); return 1; } }
export async function main(): Promise<number> { await checkpoint(); return new A().x; }`,
  },
  {
    name: 'a checkpoint in a field initializer',
    code: 'PPP2P1004',
    line: 2,
    source: `${head}class A { p = checkpoint(); }
export async function main(): Promise<A> { await checkpoint(); return new A(); }`,
  },
  {
    name: 'an async arrow field that checkpoints',
    code: 'PPP2P1004',
    line: 2,
    source: `${head}class A { run = async (): Promise<void> => { await checkpoint(); }; }
export async function main(): Promise<A> { await checkpoint(); return new A(); }`,
  },
  {
    name: 'a checkpoint in a static block',
    code: 'PPP2P1004',
    line: 2,
    source: `${head}class A { static { void checkpoint(); } }
export async function main(): Promise<A> { await checkpoint(); return new A(); }`,
  },
  {
    name: 'a checkpoint in an async generator',
    code: 'PPP2P1005',
    line: 2,
    source: `${head}export async function* gen(): AsyncGenerator<number> { await checkpoint(); yield 1; }`,
  },
  {
    name: 'eval in a checkpointable function',
    code: 'PPP2P1006',
    line: 4,
    source: `${head}export async function main(): Promise<unknown> {
  await checkpoint();
  return eval('1');
}`,
  },
  {
    name: 'with in a checkpointable function (TypeScript errors on the same line are not repeated)',
    code: 'PPP2P1007',
    line: 4,
    source: `${head}export async function main(o: { a: number }): Promise<number> {
  await checkpoint();
  with (o) { return a; }
}`,
  },
  {
    name: 'Promise.all over checkpointable calls',
    code: 'PPP2P1008',
    line: 4,
    source: `${head}${work}export async function main(): Promise<number[]> {
  return await Promise.all([work(), work()]);
}`,
  },
  {
    name: 'a checkpointable call whose promise is returned without await',
    code: 'PPP2P1008',
    line: 4,
    source: `${head}${work}export async function main(): Promise<number> {
  return work();
}`,
  },
  {
    name: 'a nested function declaration that checkpoints',
    code: 'PPP2P1009',
    line: 3,
    source: `${head}export async function main(): Promise<void> {
  async function inner(): Promise<void> { await checkpoint(); }
  await inner();
}`,
  },
  {
    name: 'an object literal method that checkpoints',
    code: 'PPP2P1009',
    line: 2,
    source: `${head}const o = { async m(): Promise<void> { await checkpoint(); } };
export async function main(): Promise<void> { await o.m(); }`,
  },
  {
    name: 'a method of a class declared inside a function',
    code: 'PPP2P1009',
    line: 3,
    source: `${head}export async function main(): Promise<void> {
  class Local { async m(): Promise<void> { await checkpoint(); } }
  await new Local().m();
}`,
  },
  {
    name: '`arguments` in a checkpointable function (also inside an arrow there)',
    code: 'PPP2P1010',
    line: 4,
    source: `${head}export async function main(): Promise<number> {
  await checkpoint();
  const f = (): number => arguments.length;
  return f();
}`,
  },
  {
    name: 'a checkpoint inside a for-await loop',
    code: 'PPP2P1011',
    line: 3,
    source: `${head}export async function main(xs: AsyncIterable<number>): Promise<void> {
  for await (const x of xs) { await checkpoint(); void x; }
}`,
  },
  {
    name: 'checkpoint() not awaited',
    code: 'PPP2P1012',
    line: 3,
    source: `${head}export async function main(): Promise<void> {
  void checkpoint();
}`,
  },
  {
    name: 'a checkpointable method with a computed name',
    code: 'PPP2P1013',
    line: 3,
    source: `${head}const key = 'run';
export class A { async [key](): Promise<void> { await checkpoint(); } }`,
  },
];

describe('rejections: unsupported constructs are errors with a code, a line and a hint', () => {
  test.each(cases)('$code: $name', (c) => {
    const b = buildSources(`reject-${c.code}-${c.name.replace(/\W+/g, '-').slice(0, 40)}`, { 'main.ts': c.source });
    expect(b.diagnostics.map((d) => `${d.code} line ${d.line}`), b.report()).toEqual(
      b.diagnostics.map(() => `${c.code} line ${c.line}`),
    );
    expect(b.diagnostics.length, b.report()).toBeGreaterThan(0);
    for (const d of b.diagnostics) expect(d.hint.length).toBeGreaterThan(0);
    expect(b.emitted).toEqual([]);
    expect(existsSync(b.outDir)).toBe(false);
  });

  test('a syntax error is reported as PPP2P0001 with the TypeScript message', () => {
    const b = buildSources('reject-syntax', { 'main.ts': 'export function f( {\n' });
    expect(b.diagnostics[0]?.code).toBe('PPP2P0001');
    expect(b.diagnostics[0]?.message).toMatch(/^TS\d+: /);
    expect(b.emitted).toEqual([]);
  });

  test('one rejected module stops the whole build: nothing is written for the others either', () => {
    const b = buildSources('reject-partial', {
      'good.ts': `${head}export async function good(): Promise<void> { await checkpoint(); }\n`,
      'bad.ts': `${head}export async function bad(): Promise<void> { void checkpoint(); }\n`,
    });
    expect(b.diagnostics.map((d) => `${d.file.slice(b.srcDir.length + 1)}:${d.line} ${d.code}`)).toEqual(['bad.ts:2 PPP2P1012']);
    expect(b.emitted).toEqual([]);
    expect(existsSync(b.outDir)).toBe(false);
  });

  test('formatDiagnostic prints file:line:col PPP2P####: message and an indented hint, the file relative to the cwd', () => {
    const b = buildSources('reject-format', { 'main.ts': `${head}export async function main(): Promise<void> {\n  void checkpoint();\n}\n` });
    const text = formatDiagnostic(b.diagnostics[0]!);
    const file = relative(process.cwd(), join(b.srcDir, 'main.ts'));
    expect(text).toBe(
      `${file}:3:8 PPP2P1012: \`checkpoint()\` not awaited: its promise is kept, dropped or combined instead of awaited\n` +
        '  hint: write `await checkpoint()`',
    );
  });

  test('type errors do not stop a build', () => {
    const b = buildSources('accept-type-error', { 'main.ts': `${head}export async function main(): Promise<number> { await checkpoint(); const n: number = 'x' as unknown as number; return n; }\n` });
    expect(b.report()).toBe('');
  });
});

describe('rejections: similar constructs that are fine', () => {
  test('synchronous callbacks, plain async callbacks, top-level awaits and spawn of a thread function build', () => {
    const b = buildSources('accept-similar', {
      'main.ts': `import { checkpoint } from 'ppp2p';
export async function main(xs: number[]): Promise<number> {
  const doubled = xs.map((x) => x * 2);
  await Promise.all(xs.map(async (x) => { await new Promise((r) => setTimeout(r, x)); }));
  await checkpoint();
  return doubled.reduce((a, b) => a + b, 0);
}
await checkpoint();
`,
    });
    expect(b.report()).toBe('');
    expect(b.emitted.length).toBe(1);
  });
});
