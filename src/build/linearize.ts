/**
 * Linearization (regenerator's explodeExpression): an expression containing sites is taken apart
 * into statements, in JavaScript evaluation order, until every site is one of the forms
 * `await S;`, `t = await S;` or `return await S;`, which `Lowering.emitSite` knows how to suspend and
 * resume. Whatever is evaluated before a site and used after it goes into a temporary, a
 * function-level local that sites spill like any other.
 *
 *   [source]                      [lowered]
 *   x += await f()                $v1 = x; $v2 = await f(); x = $v1 + $v2
 *   a[i++] = await f()            $v1 = i++; $v2 = await f(); a[$v1] = $v2
 *   c ? await f() : g()           if (c) { $v1 = await f(); } else { $v1 = g(); }     (result $v1)
 *   a && await f()                $v1 = a; if ($v1) { $v1 = await f(); }
 *   o.m(a, await f())             $v1 = o; $v2 = a; $v3 = await f(); $v1.m($v2, $v3)
 *   o?.m(await f())               $v1 = o; if ($v1 == null) $v2 = undefined; else { ...; $v2 = $v1.m($v3) }
 *
 * Deviations, all to avoid holding a function in a temporary (a checkpoint cannot save one):
 * a method is looked up on its receiver after the arguments are evaluated (`o.m(await f())`
 * re-reads `o.m`), and a callee that is a plain name is read after the arguments.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain } from './jumps.ts';
import { dup, emitIf, hasSite, plain, toTemp } from './values.ts';
import { lowerAssignmentPattern } from './destructuring.ts';
import { skipOuter } from './syntax.ts';
import { explodeChain, isChainLink, spineHasQuestionDot } from './optional-chains.ts';

/** Whether evaluating `e` may change a local (so a site's arguments must be evaluated before the spill). */
function assignsSomething(e: ts.Node): boolean {
  if (ts.isFunctionLike(e) || ts.isClassLike(e)) return false;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && e.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
    return true;
  }
  if (
    (ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) &&
    (e.operator === ts.SyntaxKind.PlusPlusToken || e.operator === ts.SyntaxKind.MinusMinusToken)
  ) {
    return true;
  }
  return ts.forEachChild(e, (c) => (assignsSomething(c) ? true : undefined)) ?? false;
}

/**
 * Lowers `expr` (emitting items for what comes before its value) and returns a site-free
 * expression for its value, or undefined when `ignoreResult` and nothing is left to evaluate.
 */
export function explode(low: Lowering, expr: ts.Expression, ignoreResult = false): ts.Expression | undefined {
  if (!hasSite(low, expr)) return plain(low, expr);
  const f = low.f;
  const e = expr;
  if (
    ts.isParenthesizedExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isTypeAssertionExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isSatisfiesExpression(e)
  ) {
    if (isChainLink(e) && spineHasQuestionDot(e)) return explodeChain(low, e, ignoreResult);
    return explode(low, e.expression, ignoreResult);
  }
  if (ts.isAwaitExpression(e)) {
    const info = low.scope.siteInfo(e);
    if (info === undefined) return f.updateAwaitExpression(e, explodeValue(low, e.expression));
    const call = explodeSiteCall(low, info.call);
    if (ignoreResult) {
      low.emitSite(e, info, call, { kind: 'none' });
      return undefined;
    }
    const t = low.newTemp();
    low.emitSite(e, info, call, { kind: 'assign', name: t });
    return low.id(t);
  }
  if (ts.isBinaryExpression(e)) return explodeBinary(low, e, ignoreResult);
  if (ts.isConditionalExpression(e)) {
    const cond = explodeValue(low, e.condition);
    const r = low.newTemp();
    emitIf(
      low,
      cond,
      () => explodeInto(low, r, e.whenTrue),
      () => explodeInto(low, r, e.whenFalse),
    );
    return low.id(r);
  }
  if (isChainLink(e) && spineHasQuestionDot(e)) return explodeChain(low, e, ignoreResult);
  if (ts.isCallExpression(e)) return explodeCall(low, e);
  if (ts.isNewExpression(e)) {
    const args = e.arguments ?? [];
    const callee = args.some((a) => hasSite(low, a)) ? toTempUnlessName(low, explodeValue(low, e.expression)) : explodeValue(low, e.expression);
    return f.updateNewExpression(e, callee, e.typeArguments, explodeList(low, args));
  }
  if (ts.isPropertyAccessExpression(e)) return f.updatePropertyAccessExpression(e, explodeValue(low, e.expression), e.name);
  if (ts.isElementAccessExpression(e)) {
    const obj = hasSite(low, e.argumentExpression) ? toTemp(low, explodeValue(low, e.expression)) : explodeValue(low, e.expression);
    return f.updateElementAccessExpression(e, obj, explodeValue(low, e.argumentExpression));
  }
  if (ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) {
    if (e.operator === ts.SyntaxKind.PlusPlusToken || e.operator === ts.SyntaxKind.MinusMinusToken) {
      const ref = reference(low, e.operand);
      return ts.isPrefixUnaryExpression(e) ? f.updatePrefixUnaryExpression(e, ref()) : f.updatePostfixUnaryExpression(e, ref());
    }
    return f.updatePrefixUnaryExpression(e as ts.PrefixUnaryExpression, explodeValue(low, e.operand));
  }
  if (ts.isTypeOfExpression(e)) return f.updateTypeOfExpression(e, explodeValue(low, e.expression));
  if (ts.isVoidExpression(e)) {
    const inner = explode(low, e.expression, true);
    return inner === undefined ? (ignoreResult ? undefined : low.undef()) : f.updateVoidExpression(e, inner);
  }
  if (ts.isDeleteExpression(e)) {
    const target = skipOuter(e.expression);
    if (ts.isPropertyAccessExpression(target) || ts.isElementAccessExpression(target)) {
      return f.updateDeleteExpression(e, reference(low, target)());
    }
    return f.updateDeleteExpression(e, explodeValue(low, e.expression));
  }
  if (ts.isTemplateExpression(e)) {
    const values = explodeList(low, e.templateSpans.map((s) => s.expression));
    return f.updateTemplateExpression(
      e,
      e.head,
      e.templateSpans.map((s, i) => f.updateTemplateSpan(s, values[i]!, s.literal)),
    );
  }
  if (ts.isTaggedTemplateExpression(e)) {
    const tag = toTempUnlessName(low, explodeValue(low, e.tag));
    const template = ts.isTemplateExpression(e.template) ? (explodeValue(low, e.template) as ts.TemplateLiteral) : e.template;
    return f.updateTaggedTemplateExpression(e, tag, e.typeArguments, template);
  }
  if (ts.isArrayLiteralExpression(e)) return f.updateArrayLiteralExpression(e, explodeList(low, e.elements));
  if (ts.isObjectLiteralExpression(e)) return explodeObject(low, e);
  low.reject(e, 'PPP2P1013', `a checkpointable call inside ${ts.SyntaxKind[e.kind]}`);
  return plain(low, e);
}

/** `explode` for a value that is used. */
export function explodeValue(low: Lowering, e: ts.Expression): ts.Expression {
  return explode(low, e, false)!;
}

/** Lowers `e` and stores its value in `name`; a site (or each branch of a conditional) stores there directly. */
export function explodeInto(low: Lowering, name: string, e: ts.Expression): void {
  const inner = skipOuter(e);
  if (ts.isAwaitExpression(inner)) {
    const info = low.scope.siteInfo(inner);
    if (info !== undefined) {
      low.emitSite(inner, info, explodeSiteCall(low, info.call), { kind: 'assign', name });
      return;
    }
  }
  if (ts.isConditionalExpression(inner) && hasSite(low, inner)) {
    const cond = explodeValue(low, inner.condition);
    emitIf(
      low,
      cond,
      () => explodeInto(low, name, inner.whenTrue),
      () => explodeInto(low, name, inner.whenFalse),
    );
    return;
  }
  low.emitPlain(low.assign(name, explodeValue(low, e)));
}

/** The call of a site with its callee and arguments free of sites (evaluated after the spill). */
export function explodeSiteCall(low: Lowering, call: ts.CallExpression): ts.Expression {
  if (!hasSite(low, call) && !assignsSomething(call)) return plain(low, call);
  // Arguments that change locals run before the spill, so that a resumed caller sees their effect.
  return explodeCall(low, call, assignsSomething(call));
}

function toTempUnlessName(low: Lowering, e: ts.Expression): ts.Expression {
  return ts.isIdentifier(e) || e.kind === ts.SyntaxKind.SuperKeyword ? e : toTemp(low, e);
}

/** Lowers the elements of an argument or array list; elements before the last site are kept in temporaries. */
export function explodeList(low: Lowering, list: readonly ts.Expression[], forceTemps = false): ts.Expression[] {
  let lastSite = -1;
  list.forEach((e, i) => {
    if (hasSite(low, e)) lastSite = i;
  });
  if (forceTemps) lastSite = list.length;
  const f = low.f;
  return list.map((e, i) => {
    if (i > lastSite) return plain(low, e);
    if (ts.isOmittedExpression(e)) return e;
    if (ts.isSpreadElement(e)) {
      const inner = explodeValue(low, e.expression);
      // The spread iterates now, not after the later sites.
      return f.updateSpreadElement(e, i < lastSite ? spreadNow(low, inner) : inner);
    }
    const v = explodeValue(low, e);
    return i < lastSite ? toTemp(low, v) : v;
  });
}

function spreadNow(low: Lowering, inner: ts.Expression): ts.Expression {
  const t = low.newTemp();
  low.emitPlain(low.assign(t, low.f.createArrayLiteralExpression([low.f.createSpreadElement(inner)])));
  return low.id(t);
}

function explodeCall(low: Lowering, e: ts.CallExpression, forceTemps = false): ts.Expression {
  const f = low.f;
  const argsHaveSites = forceTemps || e.arguments.some((a) => hasSite(low, a));
  const callee = skipOuter(e.expression);
  let newCallee: ts.Expression;
  if (ts.isPropertyAccessExpression(callee) && callee.expression.kind !== ts.SyntaxKind.SuperKeyword && (callee.flags & ts.NodeFlags.OptionalChain) === 0) {
    const obj = explodeValue(low, callee.expression);
    newCallee = f.updatePropertyAccessExpression(callee, argsHaveSites ? toTemp(low, obj) : obj, callee.name);
  } else if (ts.isElementAccessExpression(callee) && callee.expression.kind !== ts.SyntaxKind.SuperKeyword && (callee.flags & ts.NodeFlags.OptionalChain) === 0) {
    const keyHasSite = hasSite(low, callee.argumentExpression);
    let obj = explodeValue(low, callee.expression);
    if (argsHaveSites || keyHasSite) obj = toTemp(low, obj);
    let key = explodeValue(low, callee.argumentExpression);
    if (argsHaveSites) key = toTemp(low, key);
    newCallee = f.updateElementAccessExpression(callee, obj, key);
  } else if (hasSite(low, callee)) {
    newCallee = explodeValue(low, callee);
    if (argsHaveSites) newCallee = toTempUnlessName(low, newCallee);
  } else {
    newCallee = plain(low, e.expression);
  }
  return f.updateCallExpression(e, newCallee, e.typeArguments, explodeList(low, e.arguments, forceTemps));
}

function explodeBinary(low: Lowering, e: ts.BinaryExpression, ignoreResult: boolean): ts.Expression | undefined {
  const f = low.f;
  const op = e.operatorToken.kind;
  if (op === ts.SyntaxKind.CommaToken) {
    const left = explode(low, e.left, true);
    if (left !== undefined) low.emitPlain(f.createExpressionStatement(left));
    return explode(low, e.right, ignoreResult);
  }
  if (op === ts.SyntaxKind.AmpersandAmpersandToken || op === ts.SyntaxKind.BarBarToken || op === ts.SyntaxKind.QuestionQuestionToken) {
    const left = explodeValue(low, e.left);
    if (!hasSite(low, e.right)) return f.updateBinaryExpression(e, left, e.operatorToken, plain(low, e.right));
    const r = low.newTemp();
    low.emitPlain(low.assign(r, left));
    emitIf(low, shortCircuitTest(low, op, low.id(r)), () => explodeInto(low, r, e.right));
    return low.id(r);
  }
  if (op === ts.SyntaxKind.EqualsToken) return explodeAssignment(low, e, ignoreResult);
  if (op >= ts.SyntaxKind.FirstCompoundAssignment && op <= ts.SyntaxKind.LastCompoundAssignment) {
    return explodeCompoundAssignment(low, e, op);
  }
  const left = hasSite(low, e.right) ? toTemp(low, explodeValue(low, e.left)) : explodeValue(low, e.left);
  return f.updateBinaryExpression(e, left, e.operatorToken, explodeValue(low, e.right));
}

/** When the right operand of `a && b`, `a || b`, `a ?? b` (or `&&=`...) runs, given a's value. */
function shortCircuitTest(low: Lowering, op: ts.SyntaxKind, value: ts.Expression): ts.Expression {
  const f = low.f;
  if (op === ts.SyntaxKind.AmpersandAmpersandToken || op === ts.SyntaxKind.AmpersandAmpersandEqualsToken) return value;
  if (op === ts.SyntaxKind.BarBarToken || op === ts.SyntaxKind.BarBarEqualsToken) return f.createLogicalNot(value);
  return f.createEquality(value, f.createNull());
}

function explodeAssignment(low: Lowering, e: ts.BinaryExpression, ignoreResult: boolean): ts.Expression | undefined {
  const f = low.f;
  const target = skipOuter(e.left);
  if (ts.isObjectLiteralExpression(target) || ts.isArrayLiteralExpression(target)) {
    if (hasSite(low, target)) return lowerAssignmentPattern(low, target, explodeValue(low, e.right));
    return f.createAssignment(plain(low, target) as ts.ObjectLiteralExpression, explodeValue(low, e.right));
  }
  if (ts.isIdentifier(target)) {
    const name = (plain(low, target) as ts.Identifier).text;
    explodeInto(low, name, e.right);
    return ignoreResult ? undefined : low.id(name);
  }
  const ref = reference(low, target);
  return f.createAssignment(ref(), explodeValue(low, e.right));
}

/**
 * `x op= v`: the target reference and its current value are taken before `v` runs.
 * `x ??= v`, `x ||= v`, `x &&= v` assign only when the test says so.
 */
function explodeCompoundAssignment(low: Lowering, e: ts.BinaryExpression, op: ts.SyntaxKind): ts.Expression {
  const f = low.f;
  const ref = reference(low, skipOuter(e.left));
  const current = low.newTemp();
  low.emitPlain(low.assign(current, ref()));
  if (
    op === ts.SyntaxKind.AmpersandAmpersandEqualsToken ||
    op === ts.SyntaxKind.BarBarEqualsToken ||
    op === ts.SyntaxKind.QuestionQuestionEqualsToken
  ) {
    emitIf(low, shortCircuitTest(low, op, low.id(current)), () => {
      explodeInto(low, current, e.right);
      low.emitPlain(f.createExpressionStatement(f.createAssignment(ref(), low.id(current))));
    });
    return low.id(current);
  }
  const value = explodeValue(low, e.right);
  const binaryOp = compoundToBinary(op);
  return f.createAssignment(ref(), f.createBinaryExpression(low.id(current), binaryOp, value));
}

function compoundToBinary(op: ts.SyntaxKind): ts.BinaryOperator {
  const table: Partial<Record<ts.SyntaxKind, ts.BinaryOperator>> = {
    [ts.SyntaxKind.PlusEqualsToken]: ts.SyntaxKind.PlusToken,
    [ts.SyntaxKind.MinusEqualsToken]: ts.SyntaxKind.MinusToken,
    [ts.SyntaxKind.AsteriskEqualsToken]: ts.SyntaxKind.AsteriskToken,
    [ts.SyntaxKind.AsteriskAsteriskEqualsToken]: ts.SyntaxKind.AsteriskAsteriskToken,
    [ts.SyntaxKind.SlashEqualsToken]: ts.SyntaxKind.SlashToken,
    [ts.SyntaxKind.PercentEqualsToken]: ts.SyntaxKind.PercentToken,
    [ts.SyntaxKind.LessThanLessThanEqualsToken]: ts.SyntaxKind.LessThanLessThanToken,
    [ts.SyntaxKind.GreaterThanGreaterThanEqualsToken]: ts.SyntaxKind.GreaterThanGreaterThanToken,
    [ts.SyntaxKind.GreaterThanGreaterThanGreaterThanEqualsToken]: ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken,
    [ts.SyntaxKind.AmpersandEqualsToken]: ts.SyntaxKind.AmpersandToken,
    [ts.SyntaxKind.BarEqualsToken]: ts.SyntaxKind.BarToken,
    [ts.SyntaxKind.CaretEqualsToken]: ts.SyntaxKind.CaretToken,
  };
  return table[op]!;
}

/**
 * An assignment target evaluated now (its object and key in temporaries when they could change);
 * the returned function builds a fresh node for each use.
 */
export function reference(low: Lowering, target: ts.Expression): () => ts.Expression {
  const f = low.f;
  target = skipOuter(target);
  if (ts.isIdentifier(target)) {
    const name = (plain(low, target) as ts.Identifier).text;
    return () => f.createIdentifier(name);
  }
  if (ts.isPropertyAccessExpression(target)) {
    if (target.expression.kind === ts.SyntaxKind.SuperKeyword) return () => target;
    const obj = toTemp(low, explodeValue(low, target.expression));
    return () => f.createPropertyAccessExpression(dup(low, obj), target.name.text);
  }
  if (ts.isElementAccessExpression(target)) {
    const obj = toTemp(low, explodeValue(low, target.expression));
    const key = toTemp(low, explodeValue(low, target.argumentExpression));
    return () => f.createElementAccessExpression(dup(low, obj), dup(low, key));
  }
  const v = explodeValue(low, target);
  return () => v;
}

function explodeObject(low: Lowering, e: ts.ObjectLiteralExpression): ts.Expression {
  const f = low.f;
  let lastSite = -1;
  e.properties.forEach((p, i) => {
    if (hasSite(low, p)) lastSite = i;
  });
  const props = e.properties.map((p, i): ts.ObjectLiteralElementLike => {
    if (i > lastSite) return visitPlain(low, p);
    const early = i < lastSite;
    if (ts.isPropertyAssignment(p)) {
      let name: ts.PropertyName = p.name;
      if (ts.isComputedPropertyName(p.name)) {
        const key = explodeValue(low, p.name.expression);
        name = f.updateComputedPropertyName(p.name, early || hasSite(low, p.initializer) ? toTemp(low, key) : key);
      }
      const v = explodeValue(low, p.initializer);
      return f.updatePropertyAssignment(p, name, early ? toTemp(low, v) : v);
    }
    if (ts.isShorthandPropertyAssignment(p)) {
      const v = plain(low, p.name);
      return f.createPropertyAssignment(p.name.text, early ? toTemp(low, v) : v);
    }
    if (ts.isSpreadAssignment(p)) {
      const v = explodeValue(low, p.expression);
      if (!early) return f.updateSpreadAssignment(p, v);
      // Copy the properties now, as the literal would, not after the later sites.
      const t = low.newTemp();
      low.emitPlain(low.assign(t, f.createObjectLiteralExpression([f.createSpreadAssignment(v)])));
      return f.updateSpreadAssignment(p, low.id(t));
    }
    return visitPlain(low, p);
  });
  return f.updateObjectLiteralExpression(e, props);
}
