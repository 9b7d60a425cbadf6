/**
 * Loops with sites.
 *
 *   [source]                                 [lowered]
 *   for (let i = 0; i < n; i++) B            for (let i = $pc === 0 ? 0 : $f.i; $pc !== 0 || i < n; i++) B'
 *   while (c) B                              while ($pc !== 0 || c) B'
 *   do B while (c)                           do B' while (c)                (the body is entered directly)
 *   for (const x of arr) B    (arr: array)   for (let $a = ..., $i = ...; $pc !== 0 || $i < $a.length; $i++) { const x = ...$a[$i]; B' }
 *   for (const x of it) B     (otherwise)    for (let $c = ...$forOf(it), $e; $pc !== 0 || ($e = $next($c)) !== $c;) { const x = ...$e; B' }
 *   for (const k in o) B                     the same with $forIn(o)
 * Resuming skips the test: `$pc !== 0` means the resumed site is inside the body. The header's
 * `let` bindings stay in the header, so each iteration keeps its own copy for closures.
 *
 * Sites in a `for` header or a loop test desugar the loop to `for (;;)`, the test becoming the
 * first statements of the body and the update the last; `continue` then breaks out of a labeled
 * block around the body (`$next`) so that the update still runs:
 *   for (init; c; u) B   ->   { init; L: for (;;) { if (!c) break; $next: { B' } u; } }
 * The header's bindings then live in the outer block: one copy for all iterations.
 *
 * for-of over a value that is not known to be an array uses a cursor, a plain object that a
 * snapshot carries (see cursor-helpers.ts): a Map or Set is iterated live (entries added during
 * the loop are visited, deleted ones are not, as natively), a string by code points, an array by
 * index, and any other iterable is first copied into an array (so a generator runs to its end
 * before the first iteration). for-in copies the keys at entry and skips keys deleted since.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain, withJumpEntry } from './jumps.ts';
import { explode, explodeValue, reference } from './linearize.ts';
import { hasSite, plain } from './values.ts';
import { bindingToAssignmentPattern, boundNames, emittedName, lowerBindingPattern } from './destructuring.ts';
import { isBlockScoped, lowerDeclarations } from './declarations.ts';

function labeled(low: Lowering, labels: readonly string[], stmt: ts.Statement): ts.Statement {
  for (let i = labels.length - 1; i >= 0; i--) stmt = low.f.createLabeledStatement(labels[i]!, stmt);
  return stmt;
}

/** Lowers a loop body (with the loop on the jump stack) into a block, `prefix` lowered first. */
function loopBody(low: Lowering, labels: string[], body: ts.Statement, prefix?: () => void, continueLabel?: string): ts.Block {
  return withJumpEntry(low, { kind: 'loop', labels, ...(continueLabel === undefined ? {} : { continueLabel }) }, () =>
    low.block(
      low.assemble(
        low.collect(() => {
          prefix?.();
          if (ts.isBlock(body)) body.statements.forEach((s) => low.lowerStatement(s));
          else low.lowerStatement(body);
        }),
      ),
    ),
  );
}

export function lowerLoop(low: Lowering, loop: ts.IterationStatement, labels: string[]): void {
  if (ts.isForOfStatement(loop) || ts.isForInStatement(loop)) return lowerForInOf(low, loop, labels);
  const f = low.f;
  if (ts.isForStatement(loop)) {
    const headerSites =
      (loop.initializer !== undefined && hasSite(low, loop.initializer)) ||
      (loop.condition !== undefined && hasSite(low, loop.condition)) ||
      (loop.incrementor !== undefined && hasSite(low, loop.incrementor));
    if (headerSites) return lowerDesugaredFor(low, loop, labels);
    const init = loop.initializer;
    if (init !== undefined && !ts.isVariableDeclarationList(init)) low.emitPlain(f.createExpressionStatement(plain(low, init)));
    if (init !== undefined && ts.isVariableDeclarationList(init) && init.declarations.some((d) => !ts.isIdentifier(d.name))) {
      return lowerDesugaredFor(low, loop, labels);
    }
    low.emitCompound(() => {
      const header = init !== undefined && ts.isVariableDeclarationList(init) ? resumableHeader(low, init) : undefined;
      const cond = loop.condition === undefined ? undefined : f.createLogicalOr(low.pcIsNot(0), plain(low, loop.condition));
      const incr = loop.incrementor === undefined ? undefined : plain(low, loop.incrementor);
      const body = loopBody(low, labels, loop.statement);
      return [ts.setTextRange(labeled(low, labels, f.createForStatement(header, cond, incr, body)), loop)];
    });
    return;
  }
  if (ts.isWhileStatement(loop)) {
    if (hasSite(low, loop.expression)) return lowerTestedLoop(low, loop.expression, loop.statement, labels, 'before');
    low.emitCompound(() => {
      const cond = f.createLogicalOr(low.pcIsNot(0), plain(low, loop.expression));
      return [ts.setTextRange(labeled(low, labels, f.createWhileStatement(cond, loopBody(low, labels, loop.statement))), loop)];
    });
    return;
  }
  const doLoop = loop as ts.DoStatement;
  if (hasSite(low, doLoop.expression)) return lowerTestedLoop(low, doLoop.expression, doLoop.statement, labels, 'after');
  low.emitCompound(() => [
    ts.setTextRange(labeled(low, labels, f.createDoStatement(loopBody(low, labels, doLoop.statement), plain(low, doLoop.expression))), loop),
  ]);
}

/** `let i = $pc === 0 ? 0 : $f.i, ...` for a `for` header whose names may be frame fields. */
function resumableHeader(low: Lowering, list: ts.VariableDeclarationList): ts.VariableDeclarationList {
  const f = low.f;
  return f.updateVariableDeclarationList(
    list,
    list.declarations.map((d) => {
      const id = d.name as ts.Identifier;
      const b = low.scope.bindingOf(id);
      const name = b?.name ?? id.text;
      const init = d.initializer === undefined ? low.undef() : plain(low, d.initializer);
      const value = b !== undefined && low.isField(b) ? f.createConditionalExpression(low.pcIs(0), undefined, init, undefined, low.field(name)) : init;
      return f.updateVariableDeclaration(d, f.createIdentifier(name), undefined, undefined, value);
    }),
  );
}

/** `while (c)` / `do ... while (c)` where `c` has sites: `L: for (;;) { [test] body [test] }`. */
function lowerTestedLoop(low: Lowering, test: ts.Expression, body: ts.Statement, labels: string[], when: 'before' | 'after'): void {
  const f = low.f;
  const emitTest = (): void => {
    const value = explodeValue(low, test);
    low.emitPlain(f.createIfStatement(f.createLogicalNot(value), f.createBreakStatement()));
  };
  low.emitCompound(() => {
    if (when === 'before') {
      const block = loopBody(low, labels, body, () => low.withTempScope(emitTest));
      return [labeled(low, labels, f.createForStatement(undefined, undefined, undefined, block))];
    }
    const next = low.names.fresh('$next');
    const inner = loopBody(low, labels, body, undefined, next);
    const items = low.collect(() => {
      low.emitCompound(() => [f.createLabeledStatement(next, inner)]);
      low.withTempScope(emitTest);
    });
    return [labeled(low, labels, f.createForStatement(undefined, undefined, undefined, low.block(low.assemble(items))))];
  });
}

/** A `for` with sites in its header: `{ init; L: for (;;) { [test] $next: { body } [update] } }`. */
function lowerDesugaredFor(low: Lowering, loop: ts.ForStatement, labels: string[]): void {
  const f = low.f;
  low.emitCompound(() => {
    const items = low.collect(() => {
      const init = loop.initializer;
      if (init !== undefined) {
        low.withTempScope(() => {
          if (ts.isVariableDeclarationList(init)) lowerDeclarations(low, init);
          else {
            const rest = explode(low, init, true);
            if (rest !== undefined) low.emitPlain(f.createExpressionStatement(rest));
          }
        });
      }
      low.emitCompound(() => {
        const next = loop.incrementor === undefined ? undefined : low.names.fresh('$next');
        const bodyItems = low.collect(() => {
          if (loop.condition !== undefined) {
            const cond = loop.condition;
            low.withTempScope(() => {
              const value = explodeValue(low, cond);
              low.emitPlain(f.createIfStatement(f.createLogicalNot(value), f.createBreakStatement()));
            });
          }
          const body = loopBody(low, labels, loop.statement, undefined, next);
          low.emitCompound(() => [next === undefined ? body : f.createLabeledStatement(next, body)]);
          if (loop.incrementor !== undefined) {
            const incr = loop.incrementor;
            low.withTempScope(() => {
              const rest = explode(low, incr, true);
              if (rest !== undefined) low.emitPlain(f.createExpressionStatement(rest));
            });
          }
        });
        return [labeled(low, labels, f.createForStatement(undefined, undefined, undefined, low.block(low.assemble(bodyItems))))];
      });
    });
    return [ts.setTextRange(low.block(low.assemble(items)), loop)];
  });
}

function isArrayLike(low: Lowering, expr: ts.Expression): boolean {
  const checker = low.scope.checker;
  const type = checker.getTypeAtLocation(expr);
  if (checker.isArrayType(type) || checker.isTupleType(type)) return true;
  const name = type.getSymbol()?.getName();
  return name !== undefined && /^(Int8|Uint8|Uint8Clamped|Int16|Uint16|Int32|Uint32|Float32|Float64|BigInt64|BigUint64)Array$/.test(name);
}

/** for-of / for-in (see the module comment). */
function lowerForInOf(low: Lowering, loop: ts.ForOfStatement | ts.ForInStatement, labels: string[]): void {
  const f = low.f;
  if (ts.isForOfStatement(loop) && loop.awaitModifier !== undefined && hasSite(low, loop.statement)) {
    return; // rejected (PPP2P1011) before the transform runs
  }
  const iterable = explodeValue(low, loop.expression);
  if (!hasSite(low, loop.statement)) {
    const header = visitPlain(low, loop.initializer);
    const body = visitPlain(low, loop.statement);
    const stmt = ts.isForOfStatement(loop)
      ? f.updateForOfStatement(loop, loop.awaitModifier, header, iterable, body)
      : f.updateForInStatement(loop, header, iterable, body);
    low.emitPlain(labeled(low, labels, stmt));
    return;
  }
  low.emitCompound(() => {
    const resumable = (name: string, init: ts.Expression): ts.VariableDeclaration =>
      f.createVariableDeclaration(name, undefined, undefined, f.createConditionalExpression(low.pcIs(0), undefined, init, undefined, low.field(name)));
    let decls: ts.VariableDeclaration[];
    let cond: ts.Expression;
    let incr: ts.Expression | undefined;
    let element: ts.Expression;
    if (ts.isForOfStatement(loop) && isArrayLike(low, loop.expression)) {
      const arr = low.names.fresh('$a');
      const index = low.names.fresh('$i');
      decls = [resumable(arr, iterable), resumable(index, low.num(0))];
      cond = f.createLessThan(low.id(index), f.createPropertyAccessExpression(low.id(arr), 'length'));
      incr = f.createPostfixIncrement(low.id(index));
      element = f.createElementAccessExpression(low.id(arr), low.id(index));
    } else {
      const cursor = low.names.fresh('$c');
      const value = low.names.fresh('$e');
      const start = low.helper(ts.isForOfStatement(loop) ? 'forOf' : 'forIn');
      decls = [resumable(cursor, f.createCallExpression(low.id(start), undefined, [iterable])), f.createVariableDeclaration(value)];
      const next = f.createCallExpression(low.id(low.helper('next')), undefined, [low.id(cursor)]);
      cond = f.createStrictInequality(f.createParenthesizedExpression(f.createAssignment(low.id(value), next)), low.id(cursor));
      incr = undefined;
      element = low.id(value);
    }
    // The array (or cursor) and index are live in the whole body: every site there spills them.
    const live = decls.slice(0, ts.isForOfStatement(loop) && isArrayLike(low, loop.expression) ? 2 : 1).map((d) => (d.name as ts.Identifier).text);
    const body = low.withScopedTemps(
      live,
      () => loopBody(low, labels, loop.statement, () => bindElement(low, loop.initializer, element)),
    );
    const header = f.createVariableDeclarationList(decls, ts.NodeFlags.Let);
    return [ts.setTextRange(labeled(low, labels, f.createForStatement(header, f.createLogicalOr(low.pcIsNot(0), cond), incr, body)), loop)];
  });
}

/** The loop variable of a for-of/in gets the element: declared (and loaded on resume) or assigned. */
function bindElement(low: Lowering, init: ts.ForInitializer, element: ts.Expression): void {
  const f = low.f;
  if (!ts.isVariableDeclarationList(init)) {
    const ref = reference(low, init);
    low.emitPlain(f.createExpressionStatement(f.createAssignment(ref(), element)));
    return;
  }
  const decl = init.declarations[0]!;
  if (!isBlockScoped(init)) {
    // `var x`: function-level, loaded at entry.
    if (ts.isIdentifier(decl.name)) low.emitPlain(low.assign(emittedName(low, decl.name), element));
    else if (hasSite(low, decl.name)) lowerBindingPattern(low, decl.name, element);
    else low.emitPlain(f.createExpressionStatement(f.createAssignment(bindingToAssignmentPattern(low, decl.name), element)));
    return;
  }
  if (ts.isIdentifier(decl.name)) {
    const b = low.scope.bindingOf(decl.name);
    const kind = (init.flags & ts.NodeFlags.Const) !== 0 ? 'const' : 'let';
    low.emitDecl(low.declare(kind, emittedName(low, decl.name), element, b !== undefined && low.isField(b)));
    return;
  }
  const pattern = decl.name;
  low.emitDecl(
    f.createVariableStatement(
      undefined,
      f.createVariableDeclarationList(
        boundNames(pattern).map((id) => {
          const b = low.scope.bindingOf(id);
          const name = emittedName(low, id);
          const load = b !== undefined && low.isField(b) ? f.createConditionalExpression(low.pcIs(0), undefined, low.undef(), undefined, low.field(name)) : undefined;
          return f.createVariableDeclaration(name, undefined, undefined, load);
        }),
        ts.NodeFlags.Let,
      ),
    ),
  );
  if (hasSite(low, pattern)) lowerBindingPattern(low, pattern, element);
  else low.emitPlain(f.createExpressionStatement(f.createAssignment(bindingToAssignmentPattern(low, pattern), element)));
}
