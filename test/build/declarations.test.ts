/**
 * `ppp2p build` writes a .d.ts next to every .js it emits, declared from the source as written (not
 * from the frame classes of the transformed code): an application importing a built module gets
 * its real signatures, and `vc.spawn(fn, ...args)` is typed from them. A module TypeScript cannot
 * declare keeps its .js, gets no .d.ts, and the build reports a warning at the declaration.
 */
import { describe, expect, test } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { buildProject, formatDiagnostic } from '../../src/build/index.ts';
import { buildSources, repoRoot } from './support/build.ts';

const b = buildSources('declarations', {
  'count.ts': `import { checkpoint } from 'ppp2p';
import { double, type Shape } from './helper.ts';

/** Sums 1..n, checkpointing after every step. */
export async function sumTo(n: number): Promise<number> {
  let total = 0;
  for (let i = 1; i <= n; i++) {
    total += i;
    await checkpoint();
  }
  return double(total) / 2;
}

export class Counter {
  count = 0;
  constructor(readonly step: number) {}
  async run(times: number): Promise<Shape> {
    for (let i = 0; i < times; i++) {
      this.count += this.step;
      await checkpoint();
    }
    return { kind: 'count', value: this.count };
  }
}
`,
  'helper.ts': `export interface Shape {
  kind: string;
  value: number;
}
export function double(x: number): number {
  return x * 2;
}
`,
});

const dts = (file: string): string => readFileSync(join(b.outDir, file), 'utf8');

/**
 * Type-checks application files (written next to the build's src/ and out/) against the built
 * .d.ts files with strict options, 'ppp2p' being the repo's SDK. Returns the diagnostics of the
 * application files and of the .d.ts files as `file:line TScode: message`.
 */
function typeCheckApp(files: Record<string, string>): string[] {
  const base = dirname(b.outDir);
  const rootNames = Object.entries(files).map(([file, text]) => {
    writeFileSync(join(base, file), text);
    return join(base, file);
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    paths: { ppp2p: [join(repoRoot, 'src/client/index.ts')] },
  };
  const program = ts.createProgram({ rootNames, options });
  const checked = [...rootNames, ...b.declarations].map((f) => program.getSourceFile(f));
  expect(checked.every((sf) => sf !== undefined)).toBe(true);
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
  ].map((d) => {
    const where = d.file === undefined ? '<options>' : `${relative(base, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`;
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

describe('ppp2p build writes a .d.ts of the source types next to every .js', () => {
  test('one .d.ts per emitted module, listed in `declarations`, no warnings', () => {
    expect(b.report()).toBe('');
    expect(b.warnings).toEqual([]);
    expect(b.emitted).toEqual([join(b.outDir, 'count.js'), join(b.outDir, 'helper.js')]);
    expect(b.declarations).toEqual(b.emitted.map((js) => js.replace(/\.js$/, '.d.ts')));
    expect(b.declarations.every((f) => existsSync(f))).toBe(true);
  });

  test('the declarations are those of the source, not of the transformed frame classes', () => {
    const count = dts('count.d.ts');
    expect(count).toContain('/** Sums 1..n, checkpointing after every step. */\nexport declare function sumTo(n: number): Promise<number>;');
    expect(count).toContain('export declare class Counter {');
    expect(count).toContain('    count: number;');
    expect(count).toContain('    constructor(step: number);');
    expect(count).toContain('    run(times: number): Promise<Shape>;');
    expect(count).not.toMatch(/frame|ppp2p\/(runtime|thread)|checkpoint\b/i);
    expect(dts('helper.d.ts')).toContain('export declare function double(x: number): number;');
    // The emitted code itself is transformed (the declarations are not derived from it).
    expect(b.text('count.ts')).toMatch(/class sumTo\$Frame\b/);
  });

  test('an application type-checks against them: vc.spawn takes its argument types and result type from the function', () => {
    const good = typeCheckApp({
      'good.ts': `import type { VirtualComputer } from 'ppp2p';
import { sumTo, Counter } from './out/count.js';
import { double, type Shape } from './out/helper.js';
declare const vc: VirtualComputer;
export async function main(): Promise<number> {
  const t = vc.spawn(sumTo, 5);
  const r: number = await t.result;
  const shape: Shape = await new Counter(2).run(3);
  return r + double(shape.value);
}
`,
    });
    expect(good).toEqual([]);
  });

  test('a wrong argument type or result type is a compile error at its line', () => {
    const bad = typeCheckApp({
      'bad.ts': `import type { VirtualComputer } from 'ppp2p';
import { sumTo } from './out/count.js';
declare const vc: VirtualComputer;
export async function main(): Promise<void> {
  vc.spawn(sumTo, 'x');
  const s: string = await vc.spawn(sumTo, 1).result;
  vc.spawn(sumTo);
  console.log(s);
}
`,
    });
    expect(bad).toEqual([
      "bad.ts:5 TS2345: Argument of type 'string' is not assignable to parameter of type 'number'.",
      "bad.ts:6 TS2322: Type 'number' is not assignable to type 'string'.",
      'bad.ts:7 TS2554: Expected 2 arguments, but got 1.',
    ]);
  });
});

describe('a module TypeScript cannot declare', () => {
  const w = buildSources('declarations-warning', {
    'anon.ts': `import { checkpoint } from 'ppp2p';
export async function work(): Promise<number> {
  await checkpoint();
  return 1;
}
export const Anon = class {
  private secret = 1;
};
`,
    'fine.ts': `export const answer = (): number => 42;
`,
  });

  test('keeps its .js, gets no .d.ts, and the build succeeds with a warning at file:line:col', () => {
    expect(w.report()).toBe('');
    expect(w.emitted).toEqual([join(w.outDir, 'anon.js'), join(w.outDir, 'fine.js')]);
    expect(w.declarations).toEqual([join(w.outDir, 'fine.d.ts')]);
    expect(existsSync(join(w.outDir, 'anon.d.ts'))).toBe(false);
    expect(w.warnings.map((d) => formatDiagnostic(d).split('\n')[0]!.replace(/^.*?anon\.ts/, 'anon.ts'))).toEqual([
      "anon.ts:6:14 PPP2P0001: TS4094: Property 'secret' of exported anonymous class type may not be private or protected. (no declarations for this module: anon.d.ts not written; its .js is)",
    ]);
  });

  test('a .d.ts left by an earlier build is removed rather than describing the new .js wrongly', () => {
    const stale = join(w.outDir, 'anon.d.ts');
    writeFileSync(stale, 'export declare function work(): Promise<string>;\n');
    const again = buildProject({ rootDir: w.srcDir, outDir: w.outDir });
    expect(again.diagnostics).toEqual([]);
    expect(again.warnings).toHaveLength(1);
    expect(existsSync(stale)).toBe(false);
  });
});
