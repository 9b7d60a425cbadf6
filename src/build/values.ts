/**
 * What every lowering pass asks of an expression: whether it contains a site (`hasSite`), its
 * site-free form (`plain`), and how its value is kept for after a site (`isStable`, `dup`,
 * `toTemp`); and the compound `if` item that branches of lowered code are emitted as (`emitIf`).
 *
 * Split from linearize.ts: destructuring.ts and optional-chains.ts need these too, and
 * linearize.ts dispatches to them, so taking these from it would be an import cycle.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain } from './jumps.ts';
import { skipOuter } from './syntax.ts';

/** Whether a node (original or built during lowering) contains a site. */
export function hasSite(low: Lowering, node: ts.Node): boolean {
  if ((node.flags & ts.NodeFlags.Synthesized) === 0) return low.scope.containsSite(node);
  return ts.forEachChild(node, (c) => (hasSite(low, c) ? true : undefined)) ?? false;
}

/** A site-free expression for a site-free subexpression. */
export function plain(low: Lowering, e: ts.Expression): ts.Expression {
  return visitPlain(low, e);
}

/**
 * Whether evaluating `e` later gives the same value as evaluating it now: literals, `this`,
 * temporaries, and names that are not mutable locals of this function (constants, functions,
 * classes, module-level bindings, globals).
 */
export function isStable(low: Lowering, e: ts.Expression): boolean {
  e = skipOuter(e);
  switch (e.kind) {
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
    case ts.SyntaxKind.ThisKeyword:
      return true;
    case ts.SyntaxKind.Identifier: {
      if (e.flags & ts.NodeFlags.Synthesized) return true;
      const b = low.scope.bindingOf(e as ts.Identifier);
      if (b === undefined) return true;
      return b.kind === 'function' || b.kind === 'class' || b.kind === 'closure' || isConstBinding(low, e as ts.Identifier);
    }
    default:
      return false;
  }
}

function isConstBinding(low: Lowering, id: ts.Identifier): boolean {
  const decl = low.scope.checker.getSymbolAtLocation(id)?.valueDeclaration;
  if (decl === undefined) return false;
  let n: ts.Node = decl;
  while (ts.isBindingElement(n) || ts.isObjectBindingPattern(n) || ts.isArrayBindingPattern(n)) n = n.parent;
  return ts.isVariableDeclaration(n) && (ts.getCombinedNodeFlags(n) & ts.NodeFlags.Const) !== 0;
}

/** A new node for the same value as `e`, where `e` is stable (identifiers are cloned, not shared). */
export function dup(low: Lowering, e: ts.Expression): ts.Expression {
  if (ts.isIdentifier(e)) return low.f.createIdentifier(e.text);
  if (e.kind === ts.SyntaxKind.ThisKeyword) return low.f.createThis();
  return e;
}

/** `e` itself when stable, else a temporary holding its value now. */
export function toTemp(low: Lowering, e: ts.Expression): ts.Expression {
  if (isStable(low, e)) return e;
  const t = low.newTemp();
  low.emitPlain(low.assign(t, e));
  return low.id(t);
}

/**
 * Emits `if (cond) { then } else { else }` as one compound item (see Lowering): a branch with
 * sites is entered on resume by its site range, the condition is evaluated only on a fresh pass.
 */
export function emitIf(low: Lowering, cond: ts.Expression, thenFn: () => void, elseFn?: () => void): void {
  const f = low.f;
  low.emitCompound(() => {
    const thenFirst = low.siteCount + 1;
    const thenStmts = low.assemble(low.collect(thenFn));
    const thenLast = low.siteCount;
    const elseStmts = elseFn === undefined ? undefined : low.assemble(low.collect(elseFn));
    const thenHas = thenLast >= thenFirst;
    const elseHas = low.siteCount > thenLast;
    const test = thenHas && elseHas
      ? f.createConditionalExpression(low.pcIs(0), undefined, cond, undefined, low.pcAtMost(thenLast))
      : thenHas
        ? f.createLogicalOr(low.pcIsNot(0), cond)
        : elseHas
          ? f.createLogicalAnd(low.pcIs(0), cond)
          : cond;
    const elseBlock = elseStmts === undefined || elseStmts.length === 0 ? undefined : low.asBlock(elseStmts);
    return [f.createIfStatement(test, low.asBlock(thenStmts), elseBlock)];
  });
}
