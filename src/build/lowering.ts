/**
 * State of the rewrite of one checkpointable function, and the intermediate form the statement
 * lowering produces.
 *
 * Intermediate form: a block is lowered to a list of *items*, then assembled (see `assemble`):
 * - `plain`: statements without a site; run only on a fresh pass (`$pc === 0`), so consecutive
 *   ones are grouped under one `if ($pc === 0) { ... }`. After a block's last site `$pc` is 0
 *   anyway, so trailing plain statements are emitted bare.
 * - `decl`: declarations, never wrapped (their bindings must exist on the resume path too); a
 *   binding that is a frame field is initialized as `$pc === 0 ? init : $f.x`.
 * - `sites`: statements containing sites `first..last` (numbered in emission order). Inside a
 *   block `$pc` is 0 or a site of the block at or after the current statement, so the guard
 *   `$pc <= last` enters exactly the statements on the way to the resumed site; the last such
 *   statement of a block needs no guard.
 *
 * `Lowering` also carries the recursive entry points of the passes (see `LoweringPasses`).
 */
import ts from 'typescript';
import type { Binding, FunctionScope } from './function-scope.ts';
import type { FileNames } from './names.ts';
import type { SiteInfo } from './analysis.ts';
import { diagnosticAt, type BuildDiagnostic, type DiagnosticCode } from './diagnostics.ts';
import { lineOf } from './syntax.ts';
import type { HelperName, ModuleHelpers } from './cursor-helpers.ts';

export type Item =
  | { kind: 'plain'; stmts: ts.Statement[] }
  | { kind: 'decl'; stmts: ts.Statement[] }
  | { kind: 'sites'; first: number; last: number; build: (guarded: boolean) => ts.Statement[] };

/** Where a site's value goes. */
export type SiteTarget = { kind: 'none' } | { kind: 'assign'; name: string } | { kind: 'return' };

/** A jump target (or barrier) on the way out of the current statement, innermost last. */
export type JumpEntry =
  | { kind: 'loop'; labels: string[]; continueLabel?: string }
  | { kind: 'switch' | 'label'; labels: string[] }
  | FinallyBarrier;

/** A try statement whose finally contains sites: jumps out of its try/catch go through `$c`. */
export interface FinallyBarrier {
  kind: 'finally';
  /** Label of the block a jump breaks out of to reach the finally code. */
  exit: string;
  completion: string;
  value: string;
  /** Jumps that left through this barrier, re-issued after the finally: code 3 + index. */
  jumps: { kind: 'break' | 'continue'; label: string | undefined }[];
  returns: boolean;
}

/**
 * The recursive entry points of the lowering, given to `Lowering` by its creator
 * (emit-function.ts). The lowering of one construct (a loop, a switch, a try statement; a
 * destructuring pattern, an optional chain) calls back through them to lower what is nested in it,
 * instead of importing statements.ts or linearize.ts, which dispatch to it: so the passes never
 * import each other in a circle (regenerator's `Emitter.explodeStatement` and
 * `explodeExpression` play the same part).
 */
export interface LoweringPasses {
  /** Lowers one statement into items of the current list (statements.ts). */
  lowerStatement(low: Lowering, stmt: ts.Statement): void;
  /** Lowers an expression, emitting items for what comes before its value (linearize.ts). */
  explode(low: Lowering, expr: ts.Expression, ignoreResult: boolean): ts.Expression | undefined;
  /** Lowers an expression and stores its value in `name` (linearize.ts). */
  explodeInto(low: Lowering, name: string, expr: ts.Expression): void;
  /** An assignment target evaluated now; the function builds a fresh node for each use (linearize.ts). */
  reference(low: Lowering, target: ts.Expression): () => ts.Expression;
}

export class Lowering {
  readonly f: ts.NodeFactory;
  /** Names of the per-call locals of emitted code. */
  readonly T: string;
  readonly D: string;
  readonly F: string;
  readonly PC: string;
  /** pc -> source line; index 0 unused. */
  readonly siteLines: number[] = [0];
  /** Function-level temporaries (declared at the top of the function), in allocation order. */
  readonly temps: string[] = [];
  /** All temporaries, loop-header ones included, in allocation order (the order of their fields). */
  readonly allTemps: string[] = [];
  /** Names spilled at some site (bindings, temporaries, 'self'). */
  readonly spilled = new Set<string>();
  readonly jumps: JumpEntry[] = [];
  /** Temporaries live in the statements being lowered: a site spills those allocated so far. */
  readonly #tempScopes: string[][] = [[]];
  /** The list items are emitted into. */
  out: Item[] = [];
  readonly #passes: LoweringPasses;

  constructor(
    readonly context: ts.TransformationContext,
    readonly scope: FunctionScope,
    readonly names: FileNames,
    readonly diagnostics: BuildDiagnostic[],
    readonly helpers: ModuleHelpers,
    runtimeNames: { T: string; D: string; F: string; PC: string },
    passes: LoweringPasses,
  ) {
    this.f = context.factory;
    ({ T: this.T, D: this.D, F: this.F, PC: this.PC } = runtimeNames);
    this.#passes = passes;
  }

  get siteCount(): number {
    return this.siteLines.length - 1;
  }

  reject(node: ts.Node, code: DiagnosticCode, detail?: string): void {
    // Nodes built during lowering have no position: report at their source node, else the function.
    const at = ts.getParseTreeNode(node) ?? this.scope.fn;
    this.diagnostics.push(diagnosticAt(at, code, detail));
  }

  // ------------------------------------------------------------------ small node builders

  id(name: string): ts.Identifier {
    return this.f.createIdentifier(name);
  }

  num(n: number): ts.Expression {
    return n < 0 ? this.f.createPrefixMinus(this.f.createNumericLiteral(-n)) : this.f.createNumericLiteral(n);
  }

  undef(): ts.Expression {
    return this.f.createVoidZero();
  }

  /** `$f.name` */
  field(name: string): ts.Expression {
    return this.f.createPropertyAccessExpression(this.id(this.F), name);
  }

  assign(target: string | ts.Expression, value: ts.Expression): ts.Statement {
    return this.f.createExpressionStatement(
      this.f.createAssignment(typeof target === 'string' ? this.id(target) : target, value),
    );
  }

  block(stmts: readonly ts.Statement[]): ts.Block {
    return this.f.createBlock(stmts, true);
  }

  /** `stmts` as one block, without wrapping a lone block in another. */
  asBlock(stmts: readonly ts.Statement[]): ts.Block {
    const only = stmts.length === 1 ? stmts[0]! : undefined;
    return only !== undefined && ts.isBlock(only) ? only : this.block(stmts);
  }

  pc(): ts.Expression {
    return this.id(this.PC);
  }

  pcIs(k: number): ts.Expression {
    return this.f.createStrictEquality(this.pc(), this.num(k));
  }

  pcIsNot(k: number): ts.Expression {
    return this.f.createStrictInequality(this.pc(), this.num(k));
  }

  pcAtMost(k: number): ts.Expression {
    return this.f.createLessThanEquals(this.pc(), this.num(k));
  }

  /** `stmts` as they are, or in a block when they declare block-scoped names. */
  scoped(stmts: ts.Statement[]): ts.Statement[] {
    const declares = stmts.some(
      (s) =>
        (ts.isVariableStatement(s) && (s.declarationList.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) !== 0) ||
        ts.isClassDeclaration(s) ||
        ts.isFunctionDeclaration(s) ||
        ts.isEnumDeclaration(s),
    );
    return declares ? [this.block(stmts)] : stmts;
  }

  /** `if ($pc === 0) { stmts }` */
  freshOnly(stmts: readonly ts.Statement[]): ts.Statement {
    return this.f.createIfStatement(this.pcIs(0), this.block(stmts));
  }

  /** `let name = $pc === 0 ? init : $f.name` when the binding is a frame field, else `let name = init`. */
  declare(kind: 'let' | 'const', name: string, init: ts.Expression | undefined, isField: boolean): ts.Statement {
    const value = isField ? this.f.createConditionalExpression(this.pcIs(0), undefined, init ?? this.undef(), undefined, this.field(name)) : init;
    return this.f.createVariableStatement(
      undefined,
      this.f.createVariableDeclarationList(
        [this.f.createVariableDeclaration(name, undefined, undefined, value)],
        kind === 'const' ? ts.NodeFlags.Const : ts.NodeFlags.Let,
      ),
    );
  }

  isField(b: Binding): boolean {
    return this.scope.isSpilled(b);
  }

  // ------------------------------------------------------------------ items

  emit(item: Item): void {
    this.out.push(item);
  }

  emitPlain(...stmts: ts.Statement[]): void {
    const last = this.out[this.out.length - 1];
    if (last?.kind === 'plain') last.stmts.push(...stmts);
    else this.out.push({ kind: 'plain', stmts });
  }

  emitDecl(...stmts: ts.Statement[]): void {
    this.out.push({ kind: 'decl', stmts });
  }

  /** Runs `fn` with a fresh item list and returns it. */
  collect(fn: () => void): Item[] {
    const saved = this.out;
    this.out = [];
    try {
      fn();
      return this.out;
    } finally {
      this.out = saved;
    }
  }

  /** Lowers a compound statement whose sites get the numbers used while `fn` runs. */
  emitCompound(fn: () => ts.Statement[]): void {
    const first = this.siteCount + 1;
    const stmts = fn();
    const last = this.siteCount;
    if (last < first) {
      this.emitPlain(...stmts);
      return;
    }
    this.emit({
      kind: 'sites',
      first,
      last,
      build: (guarded) => (guarded ? [this.f.createIfStatement(this.pcAtMost(last), this.asBlock(stmts))] : stmts),
    });
  }

  /** Turns items into statements (see the module comment). */
  assemble(items: readonly Item[]): ts.Statement[] {
    let lastSite = -1;
    items.forEach((it, i) => {
      if (it.kind === 'sites') lastSite = i;
    });
    const out: ts.Statement[] = [];
    let group: ts.Statement[] = [];
    const flush = (): void => {
      if (group.length > 0) out.push(this.freshOnly(group));
      group = [];
    };
    items.forEach((it, i) => {
      if (it.kind === 'plain') {
        if (i < lastSite) group.push(...it.stmts);
        else {
          flush();
          out.push(...it.stmts);
        }
      } else if (it.kind === 'decl') {
        flush();
        out.push(...it.stmts);
      } else {
        flush();
        out.push(...it.build(i < lastSite));
      }
    });
    flush();
    return out;
  }

  // ------------------------------------------------------------------ recursion (see LoweringPasses)

  /** Lowers one statement into items of the current list. */
  lowerStatement(stmt: ts.Statement): void {
    this.#passes.lowerStatement(this, stmt);
  }

  /** Lowers a statement list into statements (a block's contents). */
  lowerBlock(stmts: readonly ts.Statement[]): ts.Statement[] {
    return this.assemble(this.collect(() => stmts.forEach((s) => this.lowerStatement(s))));
  }

  /**
   * Lowers `expr` (emitting items for what comes before its value) and returns a site-free
   * expression for its value, or undefined when `ignoreResult` and nothing is left to evaluate.
   */
  explode(expr: ts.Expression, ignoreResult = false): ts.Expression | undefined {
    return this.#passes.explode(this, expr, ignoreResult);
  }

  /** `explode` for a value that is used. */
  explodeValue(expr: ts.Expression): ts.Expression {
    return this.explode(expr, false)!;
  }

  /** Lowers `expr` and stores its value in `name`; a site (or each branch of a conditional) stores there directly. */
  explodeInto(name: string, expr: ts.Expression): void {
    this.#passes.explodeInto(this, name, expr);
  }

  /** An assignment target evaluated now (see linearize.ts); the function builds a fresh node for each use. */
  reference(target: ts.Expression): () => ts.Expression {
    return this.#passes.reference(this, target);
  }

  // ------------------------------------------------------------------ temporaries

  /** A function-level temporary, live until the end of the current temp scope. */
  newTemp(prefix = '$v'): string {
    const name = this.names.fresh(prefix);
    this.temps.push(name);
    this.allTemps.push(name);
    this.#tempScopes[this.#tempScopes.length - 1]!.push(name);
    return name;
  }

  /** Runs `fn` with a temp scope: temporaries it allocates are spilled only by sites inside it. */
  withTempScope<R>(fn: () => R): R {
    this.#tempScopes.push([]);
    try {
      return fn();
    } finally {
      this.#tempScopes.pop();
    }
  }

  /** Runs `fn` with block-scoped temporaries (declared by the caller) live: sites inside spill them. */
  withScopedTemps<R>(names: readonly string[], fn: () => R): R {
    this.allTemps.push(...names);
    this.#tempScopes.push([...names]);
    try {
      return fn();
    } finally {
      this.#tempScopes.pop();
    }
  }

  /** The name of a module-level helper (see cursor-helpers.ts); the module then includes it. */
  helper(name: HelperName): string {
    return this.helpers.use(name);
  }

  // ------------------------------------------------------------------ sites

  /** Copies into the frame what a site at `node` must save. */
  spill(node: ts.Node, except?: string): ts.Statement[] {
    const stmts: ts.Statement[] = [];
    const save = (name: string, value: ts.Expression): void => {
      this.spilled.add(name);
      stmts.push(this.assign(this.field(name), value));
    };
    for (const b of this.scope.spilledAt(node)) save(b.name, this.id(b.name));
    for (const scope of this.#tempScopes) for (const t of scope) if (t !== except) save(t, this.id(t));
    // An arrow has no `this` of its own; a static method resumes with its class (a class is not data).
    const fn = this.scope.fn;
    if (this.scope.usesThis && !ts.isArrowFunction(fn) && !isStaticMethod(fn)) save('self', this.f.createThis());
    return stmts;
  }

  /**
   * Emits one site: `await checkpoint()` or `await callee(args)` with its arguments already free
   * of sites. Forms (k is the site's number):
   *   checkpoint: if ($pc === k) { $pc = 0; } else if ($t.due()) { $f.pc = k; ...spill; await $t.snapshot($d); }
   *   call:       if ($pc === k) { $pc = 0; $t.depth = $d + 1; T = await $t.resumeCall(); }
   *               else { $t.depth = $d + 1; $f.pc = k; ...spill; T = await $t.called(callee(args)); }
   * When the site is not the last of its block, the second branch also requires `$pc === 0`.
   * `$t.depth = $d + 1` announces the call to the callee's `enter`; `called` withdraws the
   * announcement when the callee turns out not to be transformed (src/runtime/frame.ts).
   */
  emitSite(awaitNode: ts.AwaitExpression, info: SiteInfo, call: ts.Expression, target: SiteTarget): void {
    const f = this.f;
    const k = this.siteLines.length;
    this.siteLines.push(lineOf(awaitNode));
    const t = (): ts.Identifier => this.id(this.T);
    const method = (name: string, ...args: ts.Expression[]): ts.Expression =>
      f.createCallExpression(f.createPropertyAccessExpression(t(), name), undefined, args);
    const except = target.kind === 'assign' ? target.name : undefined;
    const spill = this.spill(awaitNode, except);
    const setPc = this.assign(this.field('pc'), this.num(k));
    const resetPc = this.assign(this.PC, this.num(0));
    const deliver = (value: ts.Expression): ts.Statement[] => {
      if (target.kind === 'assign') return [this.assign(target.name, value)];
      if (target.kind === 'return') return [f.createReturnStatement(value)];
      return [f.createExpressionStatement(value)];
    };
    let build: (guarded: boolean) => ts.Statement[];
    if (info.kind === 'checkpoint') {
      const snapshot = f.createExpressionStatement(f.createAwaitExpression(method('snapshot', this.id(this.D))));
      const after = target.kind === 'none' ? [] : deliver(this.undef());
      build = (guarded) => [
        f.createIfStatement(
          this.pcIs(k),
          this.block([resetPc]),
          f.createIfStatement(
            guarded ? f.createLogicalAnd(this.pcIs(0), method('due')) : method('due'),
            this.block([setPc, ...spill, snapshot]),
          ),
        ),
        ...after,
      ];
    } else {
      const depth = this.assign(f.createPropertyAccessExpression(t(), 'depth'), f.createAdd(this.id(this.D), this.num(1)));
      const resume = deliver(f.createAwaitExpression(method('resumeCall')));
      const fresh = deliver(f.createAwaitExpression(method('called', call)));
      build = (guarded) => [
        f.createIfStatement(
          this.pcIs(k),
          this.block([resetPc, depth, ...resume]),
          guarded ? f.createIfStatement(this.pcIs(0), this.block([depth, setPc, ...spill, ...fresh])) : this.block([depth, setPc, ...spill, ...fresh]),
        ),
      ];
    }
    this.emit({
      kind: 'sites',
      first: k,
      last: k,
      build: (guarded) => build(guarded).map((s) => ts.setSourceMapRange(s, awaitNode)),
    });
  }
}

export function isStaticMethod(fn: ts.Node): boolean {
  return ts.isMethodDeclaration(fn) && (ts.getCombinedModifierFlags(fn) & ts.ModifierFlags.Static) !== 0;
}
