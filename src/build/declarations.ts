/**
 * Declarations in lowered code, with or without sites (the `const` rows of the table in
 * statements.ts). A binding stays declared where it was, so that it exists on the resume path too;
 * one that is a frame field is loaded there on resume.
 *
 * A module of its own because the loop, switch and try lowerings declare bindings too (a `for`
 * header, the `let`s of case clauses, a destructured catch binding) while statements.ts dispatches
 * to them: taking these functions from statements.ts would be an import cycle.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain } from './jumps.ts';
import { explodeInto, explodeValue } from './linearize.ts';
import { hasSite, plain, toTemp } from './values.ts';
import { bindingToAssignmentPattern, boundNames, emittedName, lowerBindingPattern } from './destructuring.ts';

export function isBlockScoped(list: ts.VariableDeclarationList): boolean {
  return (list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using)) !== 0;
}

/**
 * `let`/`const`/`var` declarations, with or without sites. A block-scoped binding that is a
 * frame field is loaded on resume where it is declared; a `var` (function-level, loaded at entry)
 * becomes an assignment when its initializer has sites.
 */
export function lowerDeclarations(low: Lowering, list: ts.VariableDeclarationList): void {
  const f = low.f;
  const blockScoped = isBlockScoped(list);
  const kind = (list.flags & ts.NodeFlags.Const) !== 0 ? 'const' : 'let';
  for (const decl of list.declarations) {
    const sites = hasSite(low, decl);
    if (!blockScoped) {
      if (!sites) {
        low.emitPlain(ts.setTextRange(f.createVariableStatement(undefined, f.updateVariableDeclarationList(list, [visitPlain(low, decl)])), decl));
      } else {
        assignDeclared(low, decl);
      }
      continue;
    }
    const names = boundNames(decl.name);
    const fields = names.map((id) => {
      const b = low.scope.bindingOf(id);
      return b !== undefined && low.isField(b);
    });
    if (!sites && !fields.some(Boolean)) {
      // Not live at any site: an ordinary declaration, evaluated again on resume (closures, TDZ-free).
      low.emitDecl(ts.setTextRange(f.createVariableStatement(undefined, f.updateVariableDeclarationList(list, [visitPlain(low, decl)])), decl));
      continue;
    }
    if (!sites && ts.isIdentifier(decl.name)) {
      const init = decl.initializer === undefined ? undefined : plain(low, decl.initializer);
      low.emitDecl(ts.setTextRange(low.declare(kind, emittedName(low, decl.name), init, true), decl));
      continue;
    }
    // Declared first (loaded on resume), assigned by statements that a resume skips.
    low.emitDecl(
      ts.setTextRange(
        f.createVariableStatement(
          undefined,
          f.createVariableDeclarationList(
            names.map((id, i) => {
              const name = emittedName(low, id);
              const load = fields[i] ? f.createConditionalExpression(low.pcIs(0), undefined, low.undef(), undefined, low.field(name)) : undefined;
              return f.createVariableDeclaration(name, undefined, undefined, load);
            }),
            ts.NodeFlags.Let,
          ),
        ),
        decl,
      ),
    );
    assignDeclared(low, decl);
  }
}

/** The assignment part of a declaration: `x = init` or `({ a, b } = init)`, lowered. */
export function assignDeclared(low: Lowering, decl: ts.VariableDeclaration): void {
  const f = low.f;
  const init = decl.initializer;
  if (ts.isIdentifier(decl.name)) {
    const name = emittedName(low, decl.name);
    if (init !== undefined) explodeInto(low, name, init);
    return;
  }
  if (init === undefined) return;
  const value = explodeValue(low, init);
  if (hasSite(low, decl.name)) {
    lowerBindingPattern(low, decl.name, toTemp(low, value));
  } else {
    low.emitPlain(ts.setTextRange(f.createExpressionStatement(f.createAssignment(bindingToAssignmentPattern(low, decl.name), value)), decl));
  }
}
