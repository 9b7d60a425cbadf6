/**
 * The meta pass: which functions become frames and which awaits are sites, resolved with the
 * type checker across modules, aliases, methods, overrides, super calls and interfaces.
 */
import { describe, expect, test } from 'vitest';
import { analyzeSources } from './support/analyze.ts';

const header = "import { checkpoint } from 'ppp2p';\n";

describe('analysis: checkpointable functions and sites', () => {
  test('a function that awaits checkpoint() is checkpointable, a function that does not is left alone', () => {
    const r = analyzeSources('direct', {
      'a.ts': `${header}
export async function yes(): Promise<void> { await checkpoint(); }
export async function no(): Promise<number> { await Promise.resolve(); return 1; }
export function sync(): number { return 2; }
`,
    });
    expect(r.transformed).toEqual(['a.ts#yes']);
    expect(r.sites).toEqual(['a.ts:3 checkpoint']);
  });

  test('awaiting a checkpointable function makes the caller checkpointable, transitively (fixed point)', () => {
    const r = analyzeSources('transitive', {
      'a.ts': `${header}
async function c(): Promise<void> { await checkpoint(); }
async function b(): Promise<void> { await c(); }
export async function a(): Promise<void> { await b(); }
export async function unrelated(): Promise<void> { await new Promise((r) => setTimeout(r, 1)); }
`,
    });
    expect(r.transformed).toEqual(['a.ts#a', 'a.ts#b', 'a.ts#c']);
    expect(r.sites).toEqual(['a.ts:3 checkpoint', 'a.ts:4 call', 'a.ts:5 call']);
  });

  test('checkpoint is recognised under an alias, through a namespace import and through a re-exporting module', () => {
    const r = analyzeSources('aliases', {
      'a.ts': `import { checkpoint as cp } from 'ppp2p';
import * as p from 'ppp2p';
import { checkpoint as again } from './reexport.ts';
export async function viaAlias(): Promise<void> { await cp(); }
export async function viaNamespace(): Promise<void> { await p.checkpoint(); }
export async function viaReexport(): Promise<void> { await again(); }
`,
      'reexport.ts': "export { checkpoint } from 'ppp2p';\n",
    });
    expect(r.transformed).toEqual(['a.ts#viaAlias', 'a.ts#viaNamespace', 'a.ts#viaReexport']);
  });

  test('calls across modules resolve through imports, aliases, namespace imports and const aliases', () => {
    const r = analyzeSources('cross-module', {
      'lib.ts': `${header}
export async function step(): Promise<void> { await checkpoint(); }
`,
      'main.ts': `import { step as advance } from './lib.ts';
import * as lib from './lib.ts';
const again = advance;
export async function one(): Promise<void> { await advance(); }
export async function two(): Promise<void> { await lib.step(); }
export async function three(): Promise<void> { await again(); }
`,
    });
    expect(r.transformed).toEqual(['lib.ts#step', 'main.ts#one', 'main.ts#three', 'main.ts#two']);
  });

  test('instance, static and this-calls of methods are resolved by the type of the receiver', () => {
    const r = analyzeSources('methods', {
      'a.ts': `${header}
export class Job {
  async run(): Promise<void> { await checkpoint(); }
  async twice(): Promise<void> { await this.run(); await this.run(); }
  static async make(): Promise<Job> { await checkpoint(); return new Job(); }
  plain(): number { return 1; }
}
export async function main(): Promise<void> {
  const job = await Job.make();
  await job.twice();
  job.plain();
}
`,
    });
    expect(r.transformed).toEqual(['a.ts#Job.make', 'a.ts#Job.run', 'a.ts#Job.twice', 'a.ts#main']);
  });

  test('a call through a base method is a site when any override checkpoints, and every override is transformed', () => {
    const r = analyzeSources('overrides', {
      'a.ts': `${header}
export class Base {
  async step(): Promise<number> { return 1; }
}
export class Quiet extends Base {
  override async step(): Promise<number> { return 2; }
}
export class Loud extends Quiet {
  override async step(): Promise<number> { await checkpoint(); return 3; }
}
export async function drive(b: Base): Promise<number> { return await b.step(); }
`,
    });
    expect(r.transformed).toEqual(['a.ts#Base.step', 'a.ts#Loud.step', 'a.ts#Quiet.step', 'a.ts#drive']);
  });

  test('super.method() of a checkpointable base method is a site', () => {
    const r = analyzeSources('super', {
      'a.ts': `${header}
class A { async go(): Promise<void> { await checkpoint(); } }
class B extends A { override async go(): Promise<void> { await super.go(); } }
export async function main(): Promise<void> { await new B().go(); }
`,
    });
    expect(r.transformed).toEqual(['a.ts#A.go', 'a.ts#B.go', 'a.ts#main']);
    expect(r.sites).toContain('a.ts:4 call');
  });

  test('a call through an interface member is a site when a class implementing it checkpoints', () => {
    const r = analyzeSources('interfaces', {
      'a.ts': `${header}
interface Task { run(): Promise<void>; }
abstract class Base implements Task { abstract run(): Promise<void>; }
class Impl extends Base { async run(): Promise<void> { await checkpoint(); } }
export async function all(tasks: Task[]): Promise<void> { for (const t of tasks) await t.run(); }
export async function main(): Promise<void> { await all([new Impl()]); }
`,
    });
    expect(r.transformed).toEqual(['a.ts#Impl.run', 'a.ts#all', 'a.ts#main']);
  });

  test('module-level const arrow functions and function expressions are checkpointable like declarations', () => {
    const r = analyzeSources('module-consts', {
      'a.ts': `${header}
export const arrow = async (): Promise<void> => { await checkpoint(); };
const expr = async function (): Promise<void> { await arrow(); };
export async function main(): Promise<void> { await expr(); }
`,
    });
    expect(r.transformed).toEqual(['a.ts#arrow', 'a.ts#expr', 'a.ts#main']);
  });

  test('a method with a literal computed name is resolved like any method', () => {
    const r = analyzeSources('computed-literal', {
      'a.ts': `${header}
class A { async ['go'](): Promise<void> { await checkpoint(); } }
export async function main(): Promise<void> { await new A()['go'](); }
`,
    });
    expect(r.transformed).toEqual(["a.ts#A.['go']", 'a.ts#main']);
  });

  test('nested functions and generators that checkpoint do not make their callers checkpointable (they are rejected instead)', () => {
    const r = analyzeSources('nested', {
      'a.ts': `${header}
async function* gen(): AsyncGenerator<number> { await checkpoint(); yield 1; }
export async function outer(): Promise<void> {
  const inner = async (): Promise<void> => { await checkpoint(); };
  await inner();
  for await (const x of gen()) void x;
}
`,
    });
    expect(r.transformed).toEqual([]);
  });
});

describe('analysis: awaited calls the checker cannot tie to an implementation are sites by name', () => {
  test('an any receiver, a structural type, an interface member outside any family and a function-typed value', () => {
    const r = analyzeSources('unresolved', {
      'lib.ts': `${header}
class Hidden {
  async render(): Promise<string> { await checkpoint(); return 'h'; }
}
export function make(): { render(): Promise<string> } { return new Hidden(); }
export async function step(): Promise<void> { await checkpoint(); }
`,
      'main.ts': `import { make, step } from './lib.ts';
interface Renderer { render(): Promise<string> }
export async function structural(): Promise<string> { const h = make(); return await h.render(); }
export async function viaAny(j: any): Promise<void> { await j.render(); }
export async function viaInterface(r: Renderer): Promise<string> { return await r.render(); }
export async function viaParam(step: () => Promise<void>): Promise<void> { await step(); }
export async function viaProperty(o: { step: () => Promise<void> }): Promise<void> { await o['step'](); }
export async function transitive(j: any): Promise<void> { await viaAny(j); }
export async function otherName(run: () => Promise<void>, j: any): Promise<void> { await run(); await j.other(); }
export async function direct(): Promise<void> { await step(); }
`,
    });
    expect(r.transformed).toEqual([
      'lib.ts#Hidden.render',
      'lib.ts#step',
      'main.ts#direct',
      'main.ts#structural',
      'main.ts#transitive',
      'main.ts#viaAny',
      'main.ts#viaInterface',
      'main.ts#viaParam',
      'main.ts#viaProperty',
    ]);
    expect(r.sites.filter((s) => s.startsWith('main.ts'))).toEqual([
      'main.ts:10 call',
      'main.ts:3 call',
      'main.ts:4 call',
      'main.ts:5 call',
      'main.ts:6 call',
      'main.ts:7 call',
      'main.ts:8 call',
    ]);
  });

  test('calls resolved to implementations that never checkpoint stay plain, whatever their name', () => {
    const r = analyzeSources('resolved-by-name', {
      'a.ts': `${header}
import { globals } from 'ppp2p';
export async function run(): Promise<void> { await checkpoint(); }
export async function get(): Promise<void> { await checkpoint(); }
export async function resolve(): Promise<void> { await checkpoint(); }
class A { async run(): Promise<number> { return 1; } }
class B { async run(): Promise<number> { return 2; } }
export async function union(x: A | B): Promise<number> { return await x.run(); }
export async function sdk(): Promise<unknown> { return await globals.get('k'); }
export async function lib(): Promise<number> { return await Promise.resolve(1); }
export async function nested(j: any): Promise<void> {
  const inner = async (): Promise<void> => { await j.run(); };
  await inner();
}
export async function forAwait(j: any, xs: AsyncIterable<number>): Promise<void> {
  for await (const x of xs) await j.run(x);
}
`,
    });
    expect(r.transformed).toEqual(['a.ts#get', 'a.ts#resolve', 'a.ts#run']);
  });
});
