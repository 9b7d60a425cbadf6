/**
 * Per-function pre-pass over the original tree: the bindings of a checkpointable function, which
 * of them each site must spill, the emitted name of each (shadowed names are renamed apart so that
 * one JavaScript name is one frame field), and which nodes contain sites.
 *
 * Spill rule (DESIGN): at a site, every binding of the function that is in scope there and whose
 * declaration textually precedes it is copied into the frame, plus parameters, `var`s, live
 * temporaries and `self`. Function declarations, classes and `const` closures are not spilled:
 * they are declarations, so the resumed function evaluates them again (closures then capture
 * the restored locals).
 */
import ts from 'typescript';
import type { Analysis, SiteInfo } from './analysis.ts';
import type { FileNames } from './names.ts';
import { skipOuter, type CheckpointableFunction } from './syntax.ts';

export type BindingKind = 'param' | 'var' | 'let' | 'function' | 'class' | 'closure';

export interface Binding {
  readonly kind: BindingKind;
  readonly symbol: ts.Symbol | undefined;
  /** The declaring identifier. */
  readonly id: ts.Identifier;
  readonly original: string;
  /** Emitted name, which is also the frame field name. */
  name: string;
  /** Region in which sites see the binding. */
  readonly scope: ts.Node;
  /** Sites at or after this position (inside `scope`) see it initialized. */
  readonly initAt: number;
  /** Sites inside this node (a declaration's own initializer) do not. */
  readonly exclude: ts.Node | undefined;
}

/** Frame fields that mean something to the runtime or to JavaScript objects: never a local's name. */
const RESERVED_FIELDS = new Set([
  'pc',
  'self',
  'constructor',
  '__proto__',
  'prototype',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toString',
  'toLocaleString',
  'valueOf',
  'fn',
]);

export class FunctionScope {
  readonly bindings: Binding[] = [];
  readonly bySymbol = new Map<ts.Symbol, Binding>();
  /** Site awaits of this function in source order. */
  readonly sites: ts.AwaitExpression[] = [];
  readonly #containsSite = new Set<ts.Node>();
  /** Whether `this` or `super` occurs in the body (arrows included): the frame keeps `self`. */
  usesThis = false;
  /** Whether any binding was renamed: identifiers must then be visited. */
  hasRenames = false;

  constructor(
    readonly fn: CheckpointableFunction,
    readonly analysis: Analysis,
    readonly names: FileNames,
  ) {
    this.#collect();
    this.#rename();
  }

  get checker(): ts.TypeChecker {
    return this.analysis.checker;
  }

  siteInfo(node: ts.AwaitExpression): SiteInfo | undefined {
    return this.analysis.sites.get(node);
  }

  containsSite(node: ts.Node): boolean {
    return this.#containsSite.has(node);
  }

  /** The binding an identifier (use or declaration) refers to, if it is a local of this function. */
  bindingOf(id: ts.Identifier): Binding | undefined {
    if (id.pos < 0) return undefined;
    const symbol = this.checker.getSymbolAtLocation(id);
    return symbol === undefined ? undefined : this.bySymbol.get(symbol);
  }

  /** Bindings a site at `site` must spill, in declaration order. */
  spilledAt(site: ts.Node): Binding[] {
    const pos = site.getStart();
    return this.bindings.filter(
      (b) =>
        (b.kind === 'param' || b.kind === 'var' || b.kind === 'let') &&
        pos >= b.scope.pos &&
        pos < b.scope.end &&
        pos >= b.initAt &&
        (b.exclude === undefined || pos < b.exclude.pos || pos >= b.exclude.end),
    );
  }

  #spilled: Set<Binding> | undefined;

  /** Whether the binding is spilled at some site of the function (so it is a frame field). */
  isSpilled(b: Binding): boolean {
    this.#spilled ??= new Set(this.sites.flatMap((s) => this.spilledAt(s)));
    return this.#spilled.has(b);
  }

  #add(kind: BindingKind, id: ts.Identifier, scope: ts.Node, initAt: number, exclude?: ts.Node): void {
    const symbol = this.checker.getSymbolAtLocation(id);
    if (symbol !== undefined && this.bySymbol.has(symbol)) return; // `var x` twice, or a var redeclaring a param
    const b: Binding = { kind, symbol, id, original: id.text, name: id.text, scope, initAt, exclude };
    this.bindings.push(b);
    if (symbol !== undefined) this.bySymbol.set(symbol, b);
  }

  #addPattern(kind: BindingKind, name: ts.BindingName, scope: ts.Node, initAt: number, exclude?: ts.Node): void {
    if (ts.isIdentifier(name)) {
      this.#add(kind, name, scope, initAt, exclude);
      return;
    }
    for (const el of name.elements) {
      if (ts.isOmittedExpression(el)) continue;
      // Inside a pattern a binding is assigned once its own element is done (defaults may hold sites).
      this.#addPattern(kind, el.name, scope, Math.max(initAt, el.end), exclude);
    }
  }

  #collect(): void {
    const fn = this.fn;
    const body = fn.body!;
    for (const p of fn.parameters) this.#addPattern('param', p.name, fn, fn.pos);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionDeclaration(node)) {
        // Its own `this`; its body is another function's business (it has no sites: rejected if so).
        if (node.name !== undefined) this.#add('function', node.name, blockScopeOf(node), node.pos);
        return;
      }
      if (ts.isClassDeclaration(node) || ts.isEnumDeclaration(node)) {
        if (node.name !== undefined) this.#add('class', node.name, blockScopeOf(node), node.pos);
        return;
      }
      // Nested functions and classes have their own bindings (and `this`, except arrows).
      if (ts.isArrowFunction(node)) {
        if (usesThis(node)) this.usesThis = true;
        return;
      }
      if (ts.isFunctionLike(node) || ts.isClassExpression(node)) return;
      if (node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.SuperKeyword) this.usesThis = true;
      if (ts.isAwaitExpression(node) && this.analysis.sites.has(node)) {
        this.sites.push(node);
        for (let n: ts.Node = node; n !== fn; n = n.parent) this.#containsSite.add(n);
      }
      if (ts.isVariableDeclarationList(node)) this.#declarations(node);
      if (ts.isCatchClause(node) && node.variableDeclaration !== undefined) {
        this.#addPattern('let', node.variableDeclaration.name, node.block, node.block.pos);
      }
      ts.forEachChild(node, visit);
    };
    if (ts.isBlock(body)) ts.forEachChild(body, visit);
    else visit(body);
    this.sites.sort((a, b) => a.pos - b.pos);
  }

  #declarations(list: ts.VariableDeclarationList): void {
    const isVar = (list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using)) === 0;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    const parent = list.parent;
    for (const decl of list.declarations) {
      if (isVar) {
        this.#addPattern('var', decl.name, this.fn, this.fn.pos);
        continue;
      }
      const init = decl.initializer === undefined ? undefined : skipOuter(decl.initializer);
      if (
        isConst &&
        ts.isIdentifier(decl.name) &&
        init !== undefined &&
        (ts.isArrowFunction(init) || ts.isFunctionExpression(init) || ts.isClassExpression(init))
      ) {
        this.#add('closure', decl.name, blockScopeOf(parent), decl.end);
        continue;
      }
      if (ts.isForOfStatement(parent) || ts.isForInStatement(parent)) {
        this.#addPattern('let', decl.name, parent.statement, parent.statement.pos);
      } else if (ts.isForStatement(parent)) {
        this.#addPattern('let', decl.name, parent, decl.end, decl.initializer);
      } else {
        // A pattern's bindings are assigned one by one (their defaults may hold sites).
        const initAt = ts.isIdentifier(decl.name) ? decl.end : decl.name.pos;
        this.#addPattern('let', decl.name, blockScopeOf(parent), initAt, decl.initializer);
      }
    }
  }

  #rename(): void {
    const groups = new Map<string, Binding[]>();
    for (const b of this.bindings) {
      const list = groups.get(b.original) ?? [];
      list.push(b);
      groups.set(b.original, list);
    }
    for (const [name, list] of groups) {
      list.forEach((b, i) => {
        if (i === 0 && !RESERVED_FIELDS.has(name)) return;
        b.name = this.names.fresh(`${name}$`);
        this.hasRenames = true;
      });
    }
  }
}

/** Whether `this` or `super` occurs in `node`, arrows included, other functions and classes not. */
function usesThis(node: ts.Node): boolean {
  if (node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.SuperKeyword) return true;
  if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassLike(node)) return false;
  return ts.forEachChild(node, (c) => (usesThis(c) ? true : undefined)) ?? false;
}

/** The statement list (or header) that scopes a block-level declaration. */
function blockScopeOf(node: ts.Node): ts.Node {
  for (let n = node.parent; n !== undefined; n = n.parent) {
    if (ts.isBlock(n) || ts.isCaseBlock(n) || ts.isSourceFile(n) || ts.isModuleBlock(n)) return n;
    if (ts.isForStatement(n) || ts.isForInStatement(n) || ts.isForOfStatement(n)) return n;
    if (ts.isCaseClause(n) || ts.isDefaultClause(n)) return n.parent;
  }
  return node;
}
