/**
 * Random checkpointable programs for the property-based test (test/fuzz-programs.test.ts).
 *
 * A program is a small statement tree: nested loops of every form with small bounds, if/else,
 * switch with and without fallthrough, try/catch/finally, conditional throw, break and continue
 * (labeled when they leave more than the innermost loop, or a switch), conditional return,
 * checkpoints anywhere, and calls to a generated checkpointable helper, including `acc += await
 * helper(...)`. Every statement pushes what happened onto a trace, so native and migrated runs can
 * be compared. Conditions read the enclosing loop variables and an accumulator, so branches
 * differ between iterations.
 *
 * The tree is shrinkable (fast-check shrinks statement lists and sub-trees); rendering gives
 * stable ids in source order, so a shrunk program reads like a hand-written one.
 *
 * Every checkpoint executed is a migration in the property, so the renderer keeps the static
 * worst case of checkpoints executed (each site weighted by the bounds of its enclosing loops)
 * under a budget: checkpoints past the budget are rendered as comments.
 */
import fc from 'fast-check';

export interface Cond {
  /** Which readable variable the condition uses (modulo those in scope). */
  v: number;
  a: number;
  b: number;
  m: number;
  r: number;
}

export type Stmt =
  | { k: 'push' }
  | { k: 'checkpoint' }
  | { k: 'assign' }
  | { k: 'call'; compound: boolean }
  /** An awaited helper call inside an expression: conditional, logical, template, arithmetic. */
  | { k: 'expr'; form: number; cond: Cond }
  /** A closure that reads and writes locals, created and used between checkpoints. */
  | { k: 'closure' }
  | { k: 'destructure'; object: boolean }
  | { k: 'if'; cond: Cond; then: Stmt[]; else: Stmt[] }
  | { k: 'for'; bound: number; body: Stmt[] }
  | { k: 'while'; bound: number; body: Stmt[] }
  | { k: 'doWhile'; bound: number; body: Stmt[] }
  | { k: 'forOf'; values: number[]; body: Stmt[] }
  | { k: 'forIn'; keys: number; body: Stmt[] }
  | { k: 'block'; body: Stmt[] }
  | { k: 'switch'; cond: Cond; cases: { body: Stmt[]; brk: boolean }[]; dflt: Stmt[] | null }
  | { k: 'try'; body: Stmt[]; handler: Stmt[] | null; finalizer: Stmt[] | null }
  | { k: 'throw'; cond: Cond; error: boolean }
  | { k: 'break'; cond: Cond; target: number }
  | { k: 'continue'; cond: Cond; target: number }
  | { k: 'return'; cond: Cond };

export interface ProgramTree {
  helper: Stmt[];
  body: Stmt[];
}

/** Upper bounds on checkpoints executed per run (static worst case, loops multiplied out). */
export const HELPER_CHECKPOINT_BUDGET = 6;
export const PROGRAM_CHECKPOINT_BUDGET = 40;

const condArb: fc.Arbitrary<Cond> = fc.record({
  v: fc.nat(7),
  a: fc.integer({ min: 1, max: 5 }),
  b: fc.nat(9),
  m: fc.integer({ min: 2, max: 4 }),
  r: fc.nat(3),
});

const bound = fc.integer({ min: 1, max: 3 });

const { block } = fc.letrec<{ stmt: Stmt; block: Stmt[] }>((tie) => ({
  stmt: fc.oneof(
    { depthIdentifier: 'stmt', maxDepth: 3, depthSize: 'small', withCrossShrink: true },
    // Leaves first: at the depth limit only the first entry is used, and shrinking goes towards it.
    {
      arbitrary: fc.oneof(
        { arbitrary: fc.constant<Stmt>({ k: 'push' }), weight: 2 },
        { arbitrary: fc.constant<Stmt>({ k: 'checkpoint' }), weight: 6 },
        { arbitrary: fc.constant<Stmt>({ k: 'assign' }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('call' as const), compound: fc.boolean() }), weight: 2 },
        { arbitrary: fc.record({ k: fc.constant('expr' as const), form: fc.nat(3), cond: condArb }), weight: 2 },
        { arbitrary: fc.constant<Stmt>({ k: 'closure' }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('destructure' as const), object: fc.boolean() }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('throw' as const), cond: condArb, error: fc.boolean() }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('break' as const), cond: condArb, target: fc.nat(2) }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('continue' as const), cond: condArb, target: fc.nat(2) }), weight: 1 },
        { arbitrary: fc.record({ k: fc.constant('return' as const), cond: condArb }), weight: 1 },
      ) as fc.Arbitrary<Stmt>,
      weight: 10,
    },
    { arbitrary: fc.record({ k: fc.constant('if' as const), cond: condArb, then: tie('block'), else: tie('block') }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('for' as const), bound, body: tie('block') }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('while' as const), bound, body: tie('block') }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('doWhile' as const), bound, body: tie('block') }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('forIn' as const), keys: fc.integer({ min: 1, max: 3 }), body: tie('block') }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('block' as const), body: tie('block') }), weight: 1 },
    {
      arbitrary: fc.record({ k: fc.constant('forOf' as const), values: fc.array(fc.nat(9), { minLength: 1, maxLength: 3 }), body: tie('block') }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        k: fc.constant('switch' as const),
        cond: condArb,
        cases: fc.array(fc.record({ body: tie('block'), brk: fc.boolean() }), { minLength: 1, maxLength: 3, depthIdentifier: 'stmt' }),
        dflt: fc.option(tie('block'), { nil: null, depthIdentifier: 'stmt' }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        k: fc.constant('try' as const),
        body: tie('block'),
        handler: fc.option(tie('block'), { nil: null, depthIdentifier: 'stmt' }),
        finalizer: fc.option(tie('block'), { nil: null, depthIdentifier: 'stmt' }),
      }),
      weight: 3,
    },
  ) as fc.Arbitrary<Stmt>,
  block: fc.array(tie('stmt'), { minLength: 1, maxLength: 4, depthIdentifier: 'stmt' }),
}));

/** A generated program: its tree and its source, printed in full when a property fails. */
export interface GeneratedProgram {
  tree: ProgramTree;
  source: string;
  [fc.toStringMethod](): string;
}

export const programArb: fc.Arbitrary<GeneratedProgram> = fc
  .record({ helper: block, body: fc.array(block, { minLength: 1, maxLength: 3 }).map((blocks) => blocks.flat()) })
  .map((tree) => {
    const source = renderProgram(tree);
    return { tree, source, [fc.toStringMethod]: () => `\n${source}` };
  });

interface Breakable {
  kind: 'loop' | 'switch' | 'block';
  label: string;
  /** Set when a labeled jump targets it: only then is the label printed. */
  labelUsed?: boolean;
}

interface Ctx {
  inHelper: boolean;
  /** Readable number variables in scope, innermost last. */
  vars: string[];
  /** Enclosing loops and switches, innermost last. */
  breakables: Breakable[];
  /** Product of the bounds of the enclosing loops. */
  weight: number;
  indent: string;
}

class Renderer {
  #id = 0;
  #budget: number;
  /** Worst-case checkpoints of one helper call; 0 while rendering the helper itself. */
  readonly #helperWeight: number;

  constructor(budget: number, helperWeight: number) {
    this.#budget = budget;
    this.#helperWeight = helperWeight;
  }

  /** Checkpoints the renderer kept, weighted: the worst case the program can execute. */
  used = 0;

  block(stmts: Stmt[], ctx: Ctx): string[] {
    return stmts.flatMap((s) => this.stmt(s, ctx));
  }

  #spend(weight: number): boolean {
    if (weight > this.#budget) return false;
    this.#budget -= weight;
    this.used += weight;
    return true;
  }

  #cond(c: Cond, ctx: Ctx): string {
    const v = ctx.vars[c.v % ctx.vars.length]!;
    return `(${v} * ${c.a} + ${c.b}) % ${c.m} === ${c.r % c.m}`;
  }

  stmt(s: Stmt, ctx: Ctx): string[] {
    const id = ++this.#id;
    const i = ctx.indent;
    const inner: Ctx = { ...ctx, indent: `${i}  ` };
    const loops = ctx.breakables.filter((b) => b.kind === 'loop');
    switch (s.k) {
      case 'push':
        return [`${i}trace.push(${id});`];
      case 'checkpoint':
        if (!this.#spend(ctx.weight)) return [`${i}// checkpoint ${id} left out: over the migration budget`];
        return [`${i}trace.push('cp${id}');`, `${i}await checkpoint();`];
      case 'assign':
        return [`${i}acc = (acc * 7 + ${id}) % 101;`];
      case 'call': {
        if (ctx.inHelper || !this.#spend(ctx.weight * this.#helperWeight)) return [`${i}acc = (acc + ${id}) % 97;`];
        return s.compound
          ? [`${i}acc += await helper(trace, acc + ${id});`, `${i}trace.push(\`acc\${acc}\`);`]
          : [`${i}trace.push(await helper(trace, ${id}));`];
      }
      case 'expr': {
        if (ctx.inHelper || !this.#spend(ctx.weight * this.#helperWeight)) return [`${i}trace.push(-${id});`];
        const call = `await helper(trace, ${id})`;
        switch (s.form % 4) {
          case 0:
            return [`${i}trace.push(${this.#cond(s.cond, ctx)} ? ${call} : -${id});`];
          case 1:
            return [`${i}acc = ((acc % 2 === 0 && (${call})) || acc + 1) % 1009;`];
          case 2:
            return [`${i}trace.push(\`x${id}:\${acc}:\${${call}}:\${acc}\`);`];
          default:
            return [`${i}acc = (acc * 2 + (${call}) % 11) % 1009;`, `${i}trace.push(acc);`];
        }
      }
      case 'closure': {
        const v = ctx.vars[ctx.vars.length - 1]!;
        return [
          `${i}{`,
          `${i}  const f${id} = (k: number): number => (acc = (acc + k + ${v}) % 103);`,
          `${i}  trace.push(f${id}(${id}), f${id}(1));`,
          `${i}}`,
        ];
      }
      case 'destructure':
        return s.object
          ? [`${i}({ v: acc } = { v: (acc + ${id}) % 89 });`]
          : [`${i}[acc] = [(acc * 3 + ${id}) % 59];`];
      case 'block': {
        const block: Breakable = { kind: 'block', label: `B${id}` };
        const lines = this.block(s.body, { ...inner, breakables: [...ctx.breakables, block] });
        return [`${i}B${id}: {`, `${i}  trace.push('b${id}');`, ...lines, `${i}}`];
      }
      case 'if':
        return [
          `${i}if (${this.#cond(s.cond, ctx)}) {`,
          ...this.block(s.then, inner),
          `${i}} else {`,
          `${i}  trace.push(${id});`,
          ...this.block(s.else, inner),
          `${i}}`,
        ];
      case 'for':
      case 'while':
      case 'doWhile':
      case 'forOf':
      case 'forIn': {
        const prefix = { for: 'i', while: 'w', doWhile: 'd', forOf: 'x', forIn: 'k' }[s.k];
        const v = `${prefix}${id}`;
        const loop: Breakable = { kind: 'loop', label: `L${id}` };
        const times = s.k === 'forOf' ? s.values.length : s.k === 'forIn' ? s.keys : s.bound;
        // Conditions need a number: a for-in key is a string.
        const readable = s.k === 'forIn' ? `${v}.charCodeAt(0)` : v;
        const body: Ctx = { ...inner, vars: [...ctx.vars, readable], breakables: [...ctx.breakables, loop], weight: ctx.weight * times };
        const first = `${i}  trace.push(\`${prefix}${id}:\${${v}}\`);`;
        const lines = this.block(s.body, body);
        const label = loop.labelUsed === true ? `${loop.label}: ` : '';
        switch (s.k) {
          case 'for':
            return [`${i}${label}for (let ${v} = 0; ${v} < ${s.bound}; ${v}++) {`, first, ...lines, `${i}}`];
          case 'forOf':
            return [`${i}${label}for (const ${v} of [${s.values.join(', ')}]) {`, first, ...lines, `${i}}`];
          case 'forIn': {
            const keys = ['p', 'q', 'r'].slice(0, s.keys).map((k, n) => `${k}: ${n}`);
            return [`${i}${label}for (const ${v} in { ${keys.join(', ')} }) {`, first, ...lines, `${i}}`];
          }
          case 'while':
            return [`${i}let ${v} = 0;`, `${i}${label}while (${v} < ${s.bound}) {`, `${i}  ${v}++;`, first, ...lines, `${i}}`];
          case 'doWhile':
            return [`${i}let ${v} = 0;`, `${i}${label}do {`, `${i}  ${v}++;`, first, ...lines, `${i}} while (${v} < ${s.bound});`];
        }
        break;
      }
      case 'switch': {
        const inSwitch: Ctx = { ...inner, indent: `${i}    `, breakables: [...ctx.breakables, { kind: 'switch', label: `S${id}` }] };
        const lines = [`${i}switch ((${ctx.vars[s.cond.v % ctx.vars.length]!} + ${s.cond.b}) % ${s.cases.length + 1}) {`];
        s.cases.forEach((c, n) => {
          lines.push(`${i}  case ${n}:`, `${i}    trace.push('s${id}:${n}');`, ...this.block(c.body, inSwitch));
          if (c.brk) lines.push(`${i}    break;`);
        });
        if (s.dflt !== null) lines.push(`${i}  default:`, `${i}    trace.push('s${id}:default');`, ...this.block(s.dflt, inSwitch));
        lines.push(`${i}}`);
        return lines;
      }
      case 'try': {
        const handler = s.handler ?? (s.finalizer === null ? [] : null);
        const lines = [`${i}try {`, `${i}  trace.push('t${id}');`, ...this.block(s.body, inner)];
        if (handler !== null) {
          lines.push(`${i}} catch (e${id}) {`, `${i}  trace.push(\`c${id}:\${msg(e${id})}\`);`, ...this.block(handler, inner));
        }
        if (s.finalizer !== null) lines.push(`${i}} finally {`, `${i}  trace.push('fin${id}');`, ...this.block(s.finalizer, inner));
        lines.push(`${i}}`);
        return lines;
      }
      case 'throw':
        return [`${i}if (${this.#cond(s.cond, ctx)}) throw ${s.error ? `new Error('e${id}')` : `'s${id}'`};`];
      case 'break':
      case 'continue': {
        // break may leave a loop or a labeled block; continue only a loop.
        const targets = s.k === 'break' ? ctx.breakables.filter((b) => b.kind !== 'switch') : loops;
        if (targets.length === 0) return [`${i}trace.push(${id});`];
        const target = targets[targets.length - 1 - (s.target % targets.length)]!;
        // An unlabeled break leaves the innermost loop or switch; an unlabeled continue the innermost loop.
        const innermost = s.k === 'break' ? ctx.breakables[ctx.breakables.length - 1] : loops[loops.length - 1];
        const unlabeled = innermost === target && target.kind === 'loop';
        if (!unlabeled) target.labelUsed = true;
        const jump = unlabeled ? s.k : `${s.k} ${target.label}`;
        return [`${i}if (${this.#cond(s.cond, ctx)}) {`, `${i}  trace.push('${s.k[0]}${id}');`, `${i}  ${jump};`, `${i}}`];
      }
      case 'return':
        return [`${i}if (${this.#cond(s.cond, ctx)}) {`, `${i}  trace.push('r${id}');`, `${i}  return${ctx.inHelper ? ' acc' : ''};`, `${i}}`];
    }
  }
}

export function renderProgram(tree: ProgramTree): string {
  const helperRenderer = new Renderer(HELPER_CHECKPOINT_BUDGET, 0);
  const helperLines = helperRenderer.block(tree.helper, { inHelper: true, vars: ['n', 'acc'], breakables: [], weight: 1, indent: '  ' });
  const bodyRenderer = new Renderer(PROGRAM_CHECKPOINT_BUDGET, helperRenderer.used);
  const bodyLines = bodyRenderer.block(tree.body, { inHelper: false, vars: ['acc', 'trace.length'], breakables: [], weight: 1, indent: '  ' });
  return [
    `import { checkpoint } from 'ppp2p';`,
    ``,
    `function msg(e: unknown): string {`,
    `  return e instanceof Error ? e.message : String(e);`,
    `}`,
    ``,
    `async function helper(trace: unknown[], n: number): Promise<number> {`,
    `  let acc = n % 13;`,
    `  trace.push(\`h\${n}\`);`,
    ...helperLines,
    `  return acc;`,
    `}`,
    ``,
    `async function body(trace: unknown[]): Promise<void> {`,
    `  let acc = 0;`,
    ...bodyLines,
    `  trace.push(\`acc=\${acc}\`);`,
    `}`,
    ``,
    `export async function main(): Promise<unknown> {`,
    `  const trace: unknown[] = [];`,
    `  try {`,
    `    await body(trace);`,
    `  } catch (e) {`,
    `    trace.push(\`uncaught \${msg(e)}\`);`,
    `  }`,
    `  return trace;`,
    `}`,
    ``,
  ].join('\n');
}
