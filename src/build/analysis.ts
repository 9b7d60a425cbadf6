/**
 * The "meta" pass: which functions are checkpointable, and which `await`s are suspension sites.
 *
 * A function is checkpointable when its own body (not a nested function's) contains
 * `await checkpoint()` or `await f(...)` where `f` resolves, through the type checker, to a
 * checkpointable function. Resolution follows import aliases across the modules of the build,
 * `const g = f` aliases, methods (static, instance, `super.m()`) and method families: a call
 * through a base method or an interface member is a site as soon as any override or implementation
 * in the build is checkpointable, and then every implementation is transformed. The set is a fixed
 * point over the whole program, computed once before any file is emitted.
 *
 * Calls the checker cannot tie to an implementation are judged by name, conservatively: an awaited
 * call in a transformable function whose callee has no declaration with a body (an `any` or
 * structural receiver, an interface or abstract member outside any checkpointable family, a
 * function-typed variable, parameter or property) is a site when its name is the name of a
 * checkpointable function or method of the build. A site costs a spill; a call that runs a
 * transformed function without being a site would overwrite its caller's frame (the runtime then
 * fails the thread, see `enter` in src/runtime/thread-context.ts). Declarations of the SDK and of
 * TypeScript's default library count as implementations that never checkpoint.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  isFunctionWithBody,
  isTransformableShape,
  isStatic,
  memberNameText,
  moduleConstOf,
  outerParent,
  skipOuter,
  type CheckpointableFunction,
  type FunctionWithBody,
} from './syntax.ts';

/** The tree this build step runs from: `src/` from source, `dist/` compiled. Its sibling folders are the SDK. */
export const PACKAGE_TREE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Whether the SDK is the TypeScript sources (this repository) rather than compiled declarations. */
export const SDK_FROM_SOURCE = import.meta.url.endsWith('.ts');
const SDK_DIR = PACKAGE_TREE + path.sep;

/** What a suspension site calls: the runtime's `checkpoint()` or another checkpointable function. */
export interface SiteInfo {
  kind: 'checkpoint' | 'call';
  call: ts.CallExpression;
}

/** The place a call sits in, as far as rejections care. */
export type Container = FunctionWithBody | ts.PropertyDeclaration | ts.ClassStaticBlockDeclaration | undefined;

interface CallRecord {
  call: ts.CallExpression;
  container: Container;
}

export class Analysis {
  /** Functions to rewrite into frames (module-level declarations and top-level class methods). */
  readonly transformed = new Set<CheckpointableFunction>();
  /** Every `await` that is a suspension site, in any function (transformed or rejected). */
  readonly sites = new Map<ts.AwaitExpression, SiteInfo>();
  /** All calls of `checkpoint` or of checkpointable functions, with where they sit. */
  readonly checkpointingCalls: CallRecord[] = [];
  /** The calls among them that are `checkpoint()` itself. */
  readonly checkpointCalls = new Set<ts.CallExpression>();
  /** References to transformed functions handed to other code as call arguments. */
  readonly escapingReferences: ts.Expression[] = [];

  constructor(readonly checker: ts.TypeChecker) {}

  isSdkDeclaration(node: ts.Node): boolean {
    const file = node.getSourceFile().fileName;
    return path.resolve(file).startsWith(SDK_DIR) || /[\\/]node_modules[\\/]ppp2p[\\/]/.test(file);
  }
}

/** Runs the meta pass over the modules of a build. */
export function analyze(program: ts.Program, files: readonly ts.SourceFile[]): Analysis {
  const checker = program.getTypeChecker();
  const analysis = new Analysis(checker);
  const resolver = new CalleeResolver(program, analysis);

  // One walk collects everything the fixed point and the rejections need.
  const functions: FunctionWithBody[] = [];
  const awaitedCalls = new Map<FunctionWithBody, ts.CallExpression[]>();
  const calls: CallRecord[] = [];
  const argumentRefs: { ref: ts.Expression; call: ts.CallExpression | ts.NewExpression }[] = [];
  const families = new MethodFamilies(checker, new Set(files));

  const visit = (node: ts.Node, container: Container): void => {
    if (isFunctionWithBody(node)) {
      functions.push(node);
      container = node;
    } else if (ts.isClassStaticBlockDeclaration(node)) {
      container = node;
    } else if (ts.isPropertyDeclaration(node) && node.initializer !== undefined) {
      container = node;
    }
    if (ts.isClassLike(node) || ts.isInterfaceDeclaration(node)) families.addMembersOf(node);
    if (ts.isCallExpression(node)) {
      calls.push({ call: node, container });
      const parent = skipToAwait(node);
      if (parent !== undefined && container !== undefined && isFunctionWithBody(container)) {
        let list = awaitedCalls.get(container);
        if (list === undefined) awaitedCalls.set(container, (list = []));
        list.push(node);
      }
    }
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments !== undefined) {
      for (const arg of node.arguments) {
        const inner = skipOuter(arg);
        if (ts.isIdentifier(inner) || ts.isPropertyAccessExpression(inner)) argumentRefs.push({ ref: inner, call: node });
      }
    }
    ts.forEachChild(node, (child) => visit(child, container));
  };
  for (const sf of files) visit(sf, undefined);

  // Fixed point: a function joins when one of its directly awaited calls reaches a member.
  const checkpointable = new Set<ts.Node>();
  /** Names of the checkpointable functions and methods that become frames (for unresolved calls). */
  const checkpointableNames = new Set<string>();
  // Only functions that can become frames make their callers checkpointable: a nested function or
  // a generator that checkpoints is rejected where it is, not at every call of it.
  const isCheckpointableCall = (call: ts.CallExpression): boolean =>
    resolver.targets(call).some((t) => (checkpointable.has(t) && isTransformableShape(t)) || families.isCheckpointable(t));
  const siteKind = (call: ts.CallExpression): SiteInfo['kind'] | undefined =>
    resolver.isCheckpoint(call) ? 'checkpoint' : isCheckpointableCall(call) ? 'call' : undefined;
  // An awaited call the checker cannot tie to an implementation, in a function that can become a
  // frame, is a site by name. Never in a for-await body (a site there is rejected, PPP2P1011) and
  // never a reason to reject code: if such a call does run a transformed function, the runtime says so.
  const isSiteByName = (fn: FunctionWithBody, call: ts.CallExpression): boolean => {
    if (!isTransformableShape(fn)) return false;
    const name = calleeName(call);
    return name !== undefined && checkpointableNames.has(name) && resolver.isUnresolved(call) && !inForAwaitBody(call, fn);
  };
  const siteKindIn = (fn: FunctionWithBody, call: ts.CallExpression): SiteInfo['kind'] | undefined =>
    siteKind(call) ?? (isSiteByName(fn, call) ? 'call' : undefined);
  for (let changed = true; changed; ) {
    changed = false;
    for (const fn of functions) {
      if (checkpointable.has(fn)) continue;
      if ((awaitedCalls.get(fn) ?? []).some((c) => siteKindIn(fn, c) !== undefined)) {
        checkpointable.add(fn);
        if (ts.isMethodDeclaration(fn) && isTransformableShape(fn)) families.markCheckpointable(fn);
        const name = isTransformableShape(fn) ? functionName(fn) : undefined;
        if (name !== undefined) checkpointableNames.add(name);
        changed = true;
      }
    }
  }

  for (const fn of functions) {
    if (!isTransformableShape(fn)) continue;
    if (checkpointable.has(fn) || (ts.isMethodDeclaration(fn) && families.isCheckpointable(fn))) {
      analysis.transformed.add(fn);
    }
  }
  for (const fn of functions) {
    for (const call of awaitedCalls.get(fn) ?? []) {
      const kind = siteKindIn(fn, call);
      if (kind !== undefined) analysis.sites.set(skipToAwait(call)!, { kind, call });
    }
  }
  for (const record of calls) {
    const kind = siteKind(record.call);
    if (kind === undefined) continue;
    analysis.checkpointingCalls.push(record);
    if (kind === 'checkpoint') analysis.checkpointCalls.add(record.call);
  }
  for (const { ref, call } of argumentRefs) {
    const targets = resolver.referenceTargets(ref);
    if (!targets.some((t) => analysis.transformed.has(t as CheckpointableFunction))) continue;
    // The SDK's own entry points (spawn, ThreadContext.run) are where thread functions belong.
    const calleeDecls = ts.isCallExpression(call) ? resolver.declarationsOfCallee(call) : [];
    if (calleeDecls.length > 0 && calleeDecls.every((d) => analysis.isSdkDeclaration(d))) continue;
    analysis.escapingReferences.push(ref);
  }
  return analysis;
}

/** 'ppp2p' or 'ppp2p/thread', the modules thread code imports `checkpoint` from. */
function isSdkModule(specifier: string): boolean {
  return specifier === 'ppp2p' || specifier === 'ppp2p/thread';
}

/** The name a call invokes its callee by (`f()`, `o.f()`, `o['f']()`), if it has one. */
function calleeName(call: ts.CallExpression): string | undefined {
  const callee = skipOuter(call.expression);
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return ts.isIdentifier(callee.name) ? callee.name.text : undefined;
  if (ts.isElementAccessExpression(callee)) {
    const arg = skipOuter(callee.argumentExpression);
    return ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg) ? arg.text : undefined;
  }
  return undefined;
}

/** The name under which a transformable function can be called: its own, its method's or its `const`'s. */
function functionName(fn: CheckpointableFunction): string | undefined {
  if (ts.isFunctionDeclaration(fn)) return fn.name?.text;
  if (ts.isMethodDeclaration(fn)) return ts.isPrivateIdentifier(fn.name) ? undefined : memberNameText(fn.name);
  const decl = moduleConstOf(fn);
  return decl !== undefined && ts.isIdentifier(decl.name) ? decl.name.text : undefined;
}

/** Whether a call sits in the body of a `for await` loop of `fn` itself (not of a nested function). */
function inForAwaitBody(call: ts.Node, fn: ts.Node): boolean {
  for (let node: ts.Node = call; node.parent !== undefined && node !== fn; node = node.parent) {
    const p = node.parent;
    if (ts.isForOfStatement(p) && p.awaitModifier !== undefined && p.statement === node) return true;
  }
  return false;
}

/** The `await` that directly consumes a call, if any. */
function skipToAwait(call: ts.CallExpression): ts.AwaitExpression | undefined {
  const consumer = outerParent(call);
  return ts.isAwaitExpression(consumer) ? consumer : undefined;
}

/** Resolves what a call may invoke, through aliases, with the type checker. */
class CalleeResolver {
  readonly #cache = new Map<ts.CallExpression, ts.Node[]>();
  readonly checker: ts.TypeChecker;
  constructor(
    readonly program: ts.Program,
    readonly analysis: Analysis,
  ) {
    this.checker = program.getTypeChecker();
  }

  /** Whether the call is `checkpoint()` imported (under any alias) from 'ppp2p'. */
  isCheckpoint(call: ts.CallExpression): boolean {
    const callee = skipOuter(call.expression);
    const nameNode = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
    if (!ts.isIdentifier(nameNode)) return false;
    let symbol = this.checker.getSymbolAtLocation(nameNode);
    // Walk the alias chain one link at a time: if 'ppp2p' did not resolve, the import itself says it.
    for (let hops = 0; symbol !== undefined && hops < 16; hops++) {
      for (const decl of symbol.declarations ?? []) {
        if (ts.isFunctionDeclaration(decl) && decl.name?.text === 'checkpoint' && this.analysis.isSdkDeclaration(decl)) {
          return true;
        }
        if (ts.isImportSpecifier(decl) || ts.isExportSpecifier(decl)) {
          const imported = (decl.propertyName ?? decl.name).text;
          const from = ts.isImportSpecifier(decl)
            ? decl.parent.parent.parent.moduleSpecifier
            : decl.parent.parent.moduleSpecifier;
          if (imported === 'checkpoint' && from !== undefined && ts.isStringLiteral(from) && isSdkModule(from.text)) return true;
        }
        if (ts.isNamespaceImport(decl) && ts.isPropertyAccessExpression(callee) && callee.name.text === 'checkpoint') {
          const from = decl.parent.parent.moduleSpecifier;
          if (ts.isStringLiteral(from) && isSdkModule(from.text)) return true;
        }
      }
      if ((symbol.flags & ts.SymbolFlags.Alias) === 0) break;
      symbol = this.checker.getImmediateAliasedSymbol(symbol);
    }
    return false;
  }

  /** Declarations the callee expression names (aliases resolved), without signature resolution. */
  declarationsOfCallee(call: ts.CallExpression): ts.Declaration[] {
    const callee = skipOuter(call.expression);
    const nameNode = ts.isPropertyAccessExpression(callee)
      ? callee.name
      : ts.isElementAccessExpression(callee)
        ? callee.argumentExpression
        : callee;
    return this.#resolveSymbol(this.checker.getSymbolAtLocation(nameNode))?.declarations ?? [];
  }

  /** Function nodes (or method-family members) a call may run. */
  targets(call: ts.CallExpression): ts.Node[] {
    let result = this.#cache.get(call);
    if (result === undefined) {
      const decls = new Set<ts.Node>(this.declarationsOfCallee(call));
      const signature = this.checker.getResolvedSignature(call);
      if (signature?.declaration !== undefined) decls.add(signature.declaration);
      result = [...decls].flatMap((d) => this.#functionsOf(d, 0));
      this.#cache.set(call, result);
    }
    return result;
  }

  /**
   * Whether the checker cannot tie a call to its implementation: no declaration at all (`any`), or
   * one without a body that something else implements (a member of a structural, interface or
   * union type, an abstract method, a function-typed variable, parameter or property). Ambient
   * function declarations, the SDK and TypeScript's default library are implementations that never
   * checkpoint.
   */
  isUnresolved(call: ts.CallExpression): boolean {
    // The callee's own declarations: the resolved signature of a union of function types may name
    // just one of the functions the value can hold.
    const targets = this.declarationsOfCallee(call).flatMap((d) => this.#functionsOf(d, 0));
    return targets.length === 0 || targets.some((t) => !this.#isImplementation(t));
  }

  #isImplementation(node: ts.Node): boolean {
    if (isFunctionWithBody(node) && node.body !== undefined) return true;
    if (ts.isFunctionDeclaration(node)) return true; // `declare function`: nothing can override it
    const sf = node.getSourceFile();
    return this.program.isSourceFileDefaultLibrary(sf) || this.analysis.isSdkDeclaration(node);
  }

  /** Functions a value reference (not a call) names: `xs.forEach(step)`. */
  referenceTargets(ref: ts.Expression): ts.Node[] {
    const nameNode = ts.isPropertyAccessExpression(ref) ? ref.name : ref;
    const decls = this.#resolveSymbol(this.checker.getSymbolAtLocation(nameNode))?.declarations ?? [];
    return decls.flatMap((d) => this.#functionsOf(d, 0));
  }

  #resolveSymbol(symbol: ts.Symbol | undefined): ts.Symbol | undefined {
    if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias) {
      const target = this.checker.getAliasedSymbol(symbol);
      if (target.declarations !== undefined) return target;
    }
    return symbol;
  }

  /** Maps a declaration to the function bodies it stands for (overloads to the implementation). */
  #functionsOf(decl: ts.Node, depth: number): ts.Node[] {
    if (depth > 8) return [];
    if ((ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl)) && decl.body === undefined && decl.name !== undefined) {
      const symbol = this.checker.getSymbolAtLocation(decl.name);
      const impl = symbol?.declarations?.find(
        (d): d is ts.FunctionDeclaration | ts.MethodDeclaration =>
          (ts.isFunctionDeclaration(d) || ts.isMethodDeclaration(d)) && d.body !== undefined,
      );
      // Abstract methods and interface members have no body but still belong to a family.
      return impl !== undefined ? [impl] : [decl];
    }
    if (ts.isVariableDeclaration(decl) && decl.initializer !== undefined && ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) {
      const init = skipOuter(decl.initializer);
      if (ts.isFunctionExpression(init) || ts.isArrowFunction(init)) return [init];
      if (ts.isIdentifier(init) || ts.isPropertyAccessExpression(init)) {
        const nameNode = ts.isPropertyAccessExpression(init) ? init.name : init;
        const decls = this.#resolveSymbol(this.checker.getSymbolAtLocation(nameNode))?.declarations ?? [];
        return decls.flatMap((d) => this.#functionsOf(d, depth + 1));
      }
      return [];
    }
    if (ts.isPropertyDeclaration(decl) && decl.initializer !== undefined) {
      const init = skipOuter(decl.initializer);
      return ts.isFunctionExpression(init) || ts.isArrowFunction(init) ? [init] : [];
    }
    return isFunctionWithBody(decl) || ts.isMethodSignature(decl) || ts.isPropertySignature(decl) ? [decl] : [];
  }
}

/**
 * Method families: a method, the base methods it overrides and the interface members it
 * implements, and transitively their other overrides. Union-find over declaration nodes.
 */
class MethodFamilies {
  readonly #parent = new Map<ts.Node, ts.Node>();
  readonly #checkpointable = new Set<ts.Node>();
  constructor(
    readonly checker: ts.TypeChecker,
    readonly buildFiles: ReadonlySet<ts.SourceFile>,
  ) {}

  #find(node: ts.Node): ts.Node {
    let root = node;
    for (let p = this.#parent.get(root); p !== undefined && p !== root; p = this.#parent.get(root)) root = p;
    this.#parent.set(node, root);
    return root;
  }

  #union(a: ts.Node, b: ts.Node): void {
    const ra = this.#find(a);
    const rb = this.#find(b);
    if (ra === rb) return;
    this.#parent.set(ra, rb);
    if (this.#checkpointable.has(ra)) this.#checkpointable.add(rb);
  }

  addMembersOf(owner: ts.ClassLikeDeclaration | ts.InterfaceDeclaration): void {
    const ownerType = this.checker.getTypeAtLocation(owner);
    const instanceBases = ownerType.isClassOrInterface() ? this.checker.getBaseTypes(ownerType) : [];
    const implemented = (owner.heritageClauses ?? [])
      .filter((h) => h.token === ts.SyntaxKind.ImplementsKeyword)
      .flatMap((h) => h.types.map((t) => this.checker.getTypeAtLocation(t)));
    const extendsExpr = ts.isClassLike(owner)
      ? owner.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression
      : undefined;
    const staticBase = extendsExpr !== undefined ? this.checker.getTypeAtLocation(extendsExpr) : undefined;
    for (const member of owner.members) {
      if (!ts.isMethodDeclaration(member) && !ts.isMethodSignature(member) && !ts.isPropertySignature(member)) continue;
      // Private methods (#m) cannot be overridden; computed names (other than literals) have no static identity.
      if (ts.isPrivateIdentifier(member.name) || memberNameText(member.name) === undefined) continue;
      const key = this.checker.getSymbolAtLocation(member.name)?.escapedName;
      if (key === undefined) continue;
      this.#parent.set(member, this.#parent.get(member) ?? member);
      const bases = isStatic(member) ? (staticBase !== undefined ? [staticBase] : []) : [...instanceBases, ...implemented];
      for (const base of bases) {
        const prop = this.checker.getPropertyOfType(base, ts.unescapeLeadingUnderscores(key));
        for (const decl of prop?.declarations ?? []) {
          if (this.buildFiles.has(decl.getSourceFile()) && decl !== member) this.#union(member, decl);
        }
      }
    }
  }

  markCheckpointable(member: ts.Node): void {
    this.#checkpointable.add(this.#find(member));
  }

  isCheckpointable(member: ts.Node): boolean {
    return this.#parent.has(member) && this.#checkpointable.has(this.#find(member));
  }
}
