/**
 * Optional chains with sites (see linearize.ts): `a?.b(await f())` must not run the site when `a`
 * is nullish. The first `?.` of the chain becomes a test on its left side, the rest of the chain
 * a plain (non-optional) chain lowered in the branch where the test passed:
 *   a?.b(await f())      ->   $v1 = a; $v2 = $v1 == null ? undefined : $v1.b(await f())
 *   o.m?.(await f())     ->   $v1 = o; $v2 = $v1.m == null ? undefined : $v1.m(await f())
 * (the last lowered as a conditional: see `explode`). A method is looked up again rather than kept
 * in a temporary, because a checkpoint cannot save a function.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { dup, hasSite, plain, toTemp } from './values.ts';
import { skipOuter } from './syntax.ts';

export type ChainLink = ts.PropertyAccessExpression | ts.ElementAccessExpression | ts.CallExpression | ts.NonNullExpression;

export function isChainLink(n: ts.Node): n is ChainLink {
  return (
    (n.flags & ts.NodeFlags.OptionalChain) !== 0 &&
    (ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n) || ts.isCallExpression(n) || ts.isNonNullExpression(n))
  );
}

function questionDot(n: ChainLink): boolean {
  return !ts.isNonNullExpression(n) && n.questionDotToken !== undefined;
}

export function spineHasQuestionDot(e: ChainLink): boolean {
  for (let n: ts.Node = e; isChainLink(n); n = n.expression) if (questionDot(n)) return true;
  return false;
}

/**
 * An optional chain with a site: `a?.b(await f())` short-circuits before the site when `a` is
 * nullish. The first `?.` of the chain becomes a test on a temporary holding its left side:
 *   $v1 = a; $v2 = $v1 == null ? undefined : $v1.b(await f())     (then lowered as a conditional)
 * A site only left of the first `?.` just lowers that side.
 */
export function explodeChain(low: Lowering, e: ChainLink, ignoreResult: boolean): ts.Expression | undefined {
  const f = low.f;
  // The spine from the outermost link down to the first `?.` (in evaluation order).
  let first: ChainLink | undefined;
  for (let n: ts.Node = e; isChainLink(n); n = n.expression) if (questionDot(n)) first = n;
  const firstLink = first!;
  // Sites in the keys and arguments of the links the first `?.` guards.
  const ownParts = (n: ChainLink): boolean =>
    ts.forEachChild(n, (c) => (c !== n.expression && hasSite(low, c) ? true : undefined)) ?? false;
  let siteAfter = false;
  for (let n: ts.Node = e; isChainLink(n); n = n.expression) {
    if (ownParts(n)) siteAfter = true;
    if (n === firstLink) break;
  }
  if (!siteAfter) {
    const head = low.explodeValue(firstLink.expression);
    return rebuildSpine(low, e, firstLink, replaceExpression(low, firstLink, head, true)) as ts.Expression;
  }
  let replacement: ts.Expression;
  let tested: ts.Expression;
  const callee = skipOuter(firstLink.expression);
  if (ts.isCallExpression(firstLink) && (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee))) {
    // `o.m?.(args)`: test `o.m`, then call `o.m(args)` (looked up again, so that `this` is `o` and no
    // temporary holds the function).
    const obj = toTemp(low, low.explodeValue(callee.expression));
    const key = ts.isElementAccessExpression(callee) ? toTemp(low, low.explodeValue(callee.argumentExpression)) : undefined;
    const member = (): ts.Expression =>
      key === undefined
        ? f.createPropertyAccessExpression(dup(low, obj), (callee as ts.PropertyAccessExpression).name.text)
        : f.createElementAccessExpression(dup(low, obj), dup(low, key));
    tested = member();
    replacement = f.createCallExpression(member(), firstLink.typeArguments, firstLink.arguments);
  } else if (ts.isCallExpression(firstLink) && ts.isIdentifier(callee)) {
    // `fn?.(args)`: a name is read again rather than kept (a function cannot be saved).
    tested = plain(low, callee);
    replacement = f.createCallExpression(dup(low, plain(low, callee)), firstLink.typeArguments, firstLink.arguments);
  } else {
    const head = low.newTemp();
    low.emitPlain(low.assign(head, low.explodeValue(firstLink.expression)));
    tested = low.id(head);
    replacement = replaceExpression(low, firstLink, low.id(head), false);
  }
  const rest = rebuildSpine(low, e, firstLink, replacement) as ts.Expression;
  const conditional = f.createConditionalExpression(f.createEquality(tested, f.createNull()), undefined, low.undef(), undefined, rest);
  return low.explode(conditional, ignoreResult);
}

/** `link` with `expression` as its left side; without its `?.` unless `keepQuestionDot`. */
function replaceExpression(low: Lowering, link: ChainLink, expression: ts.Expression, keepQuestionDot: boolean): ts.Expression {
  const f = low.f;
  const q = keepQuestionDot && questionDot(link) ? f.createToken(ts.SyntaxKind.QuestionDotToken) : undefined;
  if (ts.isPropertyAccessExpression(link)) {
    return q !== undefined ? f.createPropertyAccessChain(expression, q, link.name) : f.createPropertyAccessExpression(expression, link.name);
  }
  if (ts.isElementAccessExpression(link)) {
    return q !== undefined
      ? f.createElementAccessChain(expression, q, link.argumentExpression)
      : f.createElementAccessExpression(expression, link.argumentExpression);
  }
  if (ts.isCallExpression(link)) {
    return q !== undefined
      ? f.createCallChain(expression, q, link.typeArguments, link.arguments)
      : f.createCallExpression(expression, link.typeArguments, link.arguments);
  }
  return expression;
}

/** `node` with the link `at` (somewhere down its spine) replaced by `replacement`. */
function rebuildSpine(low: Lowering, node: ts.Node, at: ts.Node, replacement: ts.Node): ts.Node {
  if (node === at) return replacement;
  const f = low.f;
  const inner = rebuildSpine(low, (node as ChainLink).expression, at, replacement) as ts.Expression;
  if (ts.isPropertyAccessExpression(node)) {
    return f.createPropertyAccessChain(inner, node.questionDotToken, node.name);
  }
  if (ts.isElementAccessExpression(node)) {
    return f.createElementAccessChain(inner, node.questionDotToken, node.argumentExpression);
  }
  if (ts.isCallExpression(node)) return f.createCallChain(inner, node.questionDotToken, node.typeArguments, node.arguments);
  return f.createNonNullChain(inner);
}
