/**
 * Destructuring in lowered code.
 *
 * A pattern whose defaults (or computed keys) contain sites is taken apart property by
 * property, in the order JavaScript reads them, so that each default is a statement that can be
 * suspended and resumed, and is evaluated only when the value is `undefined`:
 *   const { a, b = await f(), ...rest } = o
 *   -> let a, b, rest;  $v1 = o; a = $v1.a; $v2 = $v1.b; if ($v2 === undefined) $v2 = await f(); b = $v2;
 *      $v3 = { ...$v1 }; delete $v3.a; delete $v3.b; rest = $v3;
 * Array patterns read from a copy of the iterable (`[...value]`); a generator on the right-hand
 * side is therefore run to its end, where plain destructuring would stop early.
 * A pattern without sites stays a pattern; it only moves from a declaration to an assignment
 * when its names are frame fields (see statements.ts).
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain } from './jumps.ts';
import { dup, emitIf, hasSite, plain, toTemp } from './values.ts';
import { isPropertyNameText, skipOuter } from './syntax.ts';

/** The identifiers a binding pattern declares, in order. */
export function boundNames(name: ts.BindingName): ts.Identifier[] {
  if (ts.isIdentifier(name)) return [name];
  return name.elements.flatMap((el) => (ts.isOmittedExpression(el) ? [] : boundNames(el.name)));
}

/** The emitted name of a declared identifier (renamed apart when shadowing). */
export function emittedName(low: Lowering, id: ts.Identifier): string {
  return low.scope.bindingOf(id)?.name ?? id.text;
}

/** A binding pattern as an assignment pattern over the emitted names: `{ a, b: [c = 1] }`. */
export function bindingToAssignmentPattern(low: Lowering, pattern: ts.BindingPattern): ts.ObjectLiteralExpression | ts.ArrayLiteralExpression {
  const f = low.f;
  const target = (name: ts.BindingName): ts.Expression =>
    ts.isIdentifier(name) ? f.createIdentifier(emittedName(low, name)) : bindingToAssignmentPattern(low, name);
  const withDefault = (t: ts.Expression, init: ts.Expression | undefined): ts.Expression =>
    init === undefined ? t : f.createAssignment(t, plain(low, init));
  if (ts.isObjectBindingPattern(pattern)) {
    return f.createObjectLiteralExpression(
      pattern.elements.map((el): ts.ObjectLiteralElementLike => {
        if (el.dotDotDotToken !== undefined) return f.createSpreadAssignment(target(el.name));
        if (el.propertyName === undefined && ts.isIdentifier(el.name)) {
          const name = emittedName(low, el.name);
          if (name === el.name.text) {
            return f.createShorthandPropertyAssignment(name, el.initializer === undefined ? undefined : plain(low, el.initializer));
          }
          return f.createPropertyAssignment(el.name.text, withDefault(f.createIdentifier(name), el.initializer));
        }
        const key = el.propertyName ?? (el.name as ts.Identifier);
        return f.createPropertyAssignment(visitPlain(low, key), withDefault(target(el.name), el.initializer));
      }),
    );
  }
  return f.createArrayLiteralExpression(
    pattern.elements.map((el) => {
      if (ts.isOmittedExpression(el)) return f.createOmittedExpression();
      if (el.dotDotDotToken !== undefined) return f.createSpreadElement(target(el.name));
      return withDefault(target(el.name), el.initializer);
    }),
  );
}

/** Key of a property in a pattern, as an expression usable in `obj[key]` and `delete obj[key]`. */
function keyOf(low: Lowering, name: ts.PropertyName): ts.Expression {
  const f = low.f;
  if (ts.isComputedPropertyName(name)) return toTemp(low, low.explodeValue(name.expression));
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return f.createStringLiteral(name.text);
  if (ts.isNumericLiteral(name)) return f.createNumericLiteral(name.text);
  if (ts.isBigIntLiteral(name)) return f.createBigIntLiteral(name.text);
  return f.createStringLiteral(name.text);
}

function member(low: Lowering, obj: ts.Expression, key: ts.Expression): ts.Expression {
  const f = low.f;
  if (ts.isStringLiteral(key) && isPropertyNameText(key.text)) {
    return f.createPropertyAccessExpression(dup(low, obj), key.text);
  }
  return f.createElementAccessExpression(dup(low, obj), dup(low, key));
}

/** `t = value; if (t === undefined) t = <default>` with the default lowered; returns t. */
function withDefault(low: Lowering, value: ts.Expression, init: ts.Expression | undefined): ts.Expression {
  if (init === undefined) return value;
  const f = low.f;
  const t = low.newTemp();
  low.emitPlain(low.assign(t, value));
  const isUndefined = f.createStrictEquality(low.id(t), low.undef());
  if (hasSite(low, init)) emitIf(low, isUndefined, () => low.explodeInto(t, init));
  else low.emitPlain(f.createIfStatement(isUndefined, low.assign(t, plain(low, init))));
  return low.id(t);
}

/** `copy = { ...obj }` without the keys already taken: the value of a `...rest` element. */
function restOf(low: Lowering, obj: ts.Expression, taken: ts.Expression[]): ts.Expression {
  const f = low.f;
  const copy = low.newTemp();
  low.emitPlain(low.assign(copy, f.createObjectLiteralExpression([f.createSpreadAssignment(dup(low, obj))])));
  for (const key of taken) low.emitPlain(f.createExpressionStatement(f.createDeleteExpression(member(low, low.id(copy), key))));
  return low.id(copy);
}

function iterableCopy(low: Lowering, value: ts.Expression): ts.Expression {
  const f = low.f;
  const arr = low.newTemp();
  low.emitPlain(low.assign(arr, f.createArrayLiteralExpression([f.createSpreadElement(dup(low, value))])));
  return low.id(arr);
}

/** Assigns the parts of `value` (stable) to the names a binding pattern declares. */
export function lowerBindingPattern(low: Lowering, pattern: ts.BindingPattern, value: ts.Expression): void {
  const f = low.f;
  const bind = (name: ts.BindingName, v: ts.Expression): void => {
    if (ts.isIdentifier(name)) low.emitPlain(low.assign(emittedName(low, name), v));
    else if (hasSite(low, name)) lowerBindingPattern(low, name, toTemp(low, v));
    else low.emitPlain(f.createExpressionStatement(f.createAssignment(bindingToAssignmentPattern(low, name), v)));
  };
  if (ts.isObjectBindingPattern(pattern)) {
    const taken: ts.Expression[] = [];
    for (const el of pattern.elements) {
      if (el.dotDotDotToken !== undefined) {
        bind(el.name, restOf(low, value, taken));
        continue;
      }
      const key = keyOf(low, el.propertyName ?? (el.name as ts.Identifier));
      taken.push(key);
      bind(el.name, withDefault(low, member(low, value, key), el.initializer));
    }
    return;
  }
  const arr = iterableCopy(low, value);
  pattern.elements.forEach((el, i) => {
    if (ts.isOmittedExpression(el)) return;
    if (el.dotDotDotToken !== undefined) {
      bind(el.name, f.createCallExpression(f.createPropertyAccessExpression(dup(low, arr), 'slice'), undefined, [low.num(i)]));
      return;
    }
    bind(el.name, withDefault(low, f.createElementAccessExpression(dup(low, arr), i), el.initializer));
  });
}

/**
 * `pattern = value` where the assignment pattern contains sites; returns the expression's value.
 * Each target reference is evaluated before the value it receives is read, as in JavaScript.
 */
export function lowerAssignmentPattern(
  low: Lowering,
  pattern: ts.ObjectLiteralExpression | ts.ArrayLiteralExpression,
  value: ts.Expression,
): ts.Expression {
  const v = toTemp(low, value);
  assignPattern(low, pattern, v);
  return dup(low, v);
}

function splitDefault(e: ts.Expression): { target: ts.Expression; init: ts.Expression | undefined } {
  const inner = skipOuter(e);
  if (ts.isBinaryExpression(inner) && inner.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return { target: inner.left, init: inner.right };
  }
  return { target: e, init: undefined };
}

function assignPattern(low: Lowering, pattern: ts.ObjectLiteralExpression | ts.ArrayLiteralExpression, value: ts.Expression): void {
  const f = low.f;
  const assignTo = (target: ts.Expression, init: ts.Expression | undefined, read: () => ts.Expression): void => {
    const t = skipOuter(target);
    if (ts.isObjectLiteralExpression(t) || ts.isArrayLiteralExpression(t)) {
      assignPattern(low, t, toTemp(low, withDefault(low, read(), init)));
      return;
    }
    const ref = low.reference(t);
    const v = withDefault(low, read(), init);
    low.emitPlain(f.createExpressionStatement(f.createAssignment(ref(), v)));
  };
  if (ts.isObjectLiteralExpression(pattern)) {
    const taken: ts.Expression[] = [];
    for (const p of pattern.properties) {
      if (ts.isSpreadAssignment(p)) {
        const ref = low.reference(p.expression);
        low.emitPlain(f.createExpressionStatement(f.createAssignment(ref(), restOf(low, value, taken))));
      } else if (ts.isShorthandPropertyAssignment(p)) {
        const key = keyOf(low, p.name);
        taken.push(key);
        assignTo(p.name, p.objectAssignmentInitializer, () => member(low, value, key));
      } else if (ts.isPropertyAssignment(p)) {
        const key = keyOf(low, p.name);
        taken.push(key);
        const { target, init } = splitDefault(p.initializer);
        assignTo(target, init, () => member(low, value, key));
      } else {
        low.reject(p, 'PPP2P1013', 'a method in a destructuring pattern');
      }
    }
    return;
  }
  const arr = iterableCopy(low, value);
  pattern.elements.forEach((el, i) => {
    if (ts.isOmittedExpression(el)) return;
    if (ts.isSpreadElement(el)) {
      const ref = low.reference(el.expression);
      low.emitPlain(
        f.createExpressionStatement(
          f.createAssignment(ref(), f.createCallExpression(f.createPropertyAccessExpression(dup(low, arr), 'slice'), undefined, [low.num(i)])),
        ),
      );
      return;
    }
    const { target, init } = splitDefault(el);
    assignTo(target, init, () => f.createElementAccessExpression(dup(low, arr), i));
  });
}
