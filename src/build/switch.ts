/**
 * switch with sites (in the discriminant, the case tests or the clauses).
 *
 * The clause to enter is computed first, as a clause index, with the tests evaluated lazily in
 * source order until one matches, as JavaScript does; a resume computes it from `$pc` instead:
 *   switch (d) { case a: A; case b: B; default: C }
 *   -> { let <case declarations>;
 *        $v1 = d; $sw1 = $v1 === a ? 0 : $v1 === b ? 1 : 2;          (lowered like any expression)
 *        switch ($pc === 0 ? $sw1 : $pc <= lastA ? 0 : ...) { case 0: A' case 1: B' case 2: C' } }
 * Fallthrough and `break` keep their meaning. `let`/`const` declared in a clause are scoped to
 * the whole switch, and a resume may jump past the clause that declares them, so they are
 * declared before the switch and assigned where they stood.
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { visitPlain, withJumpEntry } from './jumps.ts';
import { explodeInto, explodeValue } from './linearize.ts';
import { hasSite, toTemp } from './values.ts';
import { assignDeclared, isBlockScoped } from './declarations.ts';
import { boundNames, emittedName } from './destructuring.ts';

export function lowerSwitch(low: Lowering, stmt: ts.SwitchStatement, labels: string[]): void {
  const f = low.f;
  const clauses = stmt.caseBlock.clauses;
  const bodiesHaveSites = clauses.some((c) => c.statements.some((s) => hasSite(low, s)));
  const testsHaveSites = clauses.some((c) => ts.isCaseClause(c) && hasSite(low, c.expression));
  const withLabels = (s: ts.Statement): ts.Statement => labels.reduceRight<ts.Statement>((acc, l) => f.createLabeledStatement(l, acc), s);
  if (!bodiesHaveSites && !testsHaveSites) {
    const disc = explodeValue(low, stmt.expression);
    low.emitPlain(withLabels(f.updateSwitchStatement(stmt, disc, visitPlain(low, stmt.caseBlock))));
    return;
  }
  low.emitCompound(() => {
    const items = low.collect(() => {
      const hoisted = hoistedDeclarations(low, clauses);
      if (hoisted.length > 0) low.emitDecl(f.createVariableStatement(undefined, f.createVariableDeclarationList(hoisted, ts.NodeFlags.Let)));
      const selected = low.newTemp('$sw');
      // The discriminant and the tests' values are dead once the clause is chosen.
      low.withTempScope(() => explodeInto(low, selected, selection(low, stmt, clauses)));
      low.emitCompound(() => {
        const ranges: { index: number; last: number }[] = [];
        const newClauses = withJumpEntry(low, { kind: 'switch', labels }, () =>
          clauses.map((c, i) => {
            const first = low.siteCount + 1;
            const stmts = low.assemble(low.collect(() => c.statements.forEach((s) => lowerClauseStatement(low, s))));
            if (low.siteCount >= first) ranges.push({ index: i, last: low.siteCount });
            return f.createCaseClause(low.num(i), stmts);
          }),
        );
        let resume: ts.Expression = low.num(ranges[ranges.length - 1]?.index ?? -1);
        for (let r = ranges.length - 2; r >= 0; r--) {
          resume = f.createConditionalExpression(low.pcAtMost(ranges[r]!.last), undefined, low.num(ranges[r]!.index), undefined, resume);
        }
        const disc2 = f.createConditionalExpression(low.pcIs(0), undefined, low.id(selected), undefined, resume);
        return [withLabels(ts.setTextRange(f.createSwitchStatement(disc2, f.createCaseBlock(newClauses)), stmt))];
      });
    });
    return low.scoped(low.assemble(items));
  });
}

/** `d === a ? 0 : d === b ? 1 : <default index or -1>`, the discriminant evaluated once. */
function selection(low: Lowering, stmt: ts.SwitchStatement, clauses: readonly ts.CaseOrDefaultClause[]): ts.Expression {
  const f = low.f;
  const disc = toTemp(low, explodeValue(low, stmt.expression));
  let chain: ts.Expression = low.num(clauses.findIndex((c) => ts.isDefaultClause(c)));
  for (let i = clauses.length - 1; i >= 0; i--) {
    const c = clauses[i]!;
    if (!ts.isCaseClause(c)) continue;
    const d = ts.isIdentifier(disc) ? f.createIdentifier(disc.text) : disc;
    chain = f.createConditionalExpression(f.createStrictEquality(d, c.expression), undefined, low.num(i), undefined, chain);
  }
  return chain;
}

/** `let x = $pc === 0 ? undefined : $f.x` for each binding a clause declares with let/const. */
function hoistedDeclarations(low: Lowering, clauses: readonly ts.CaseOrDefaultClause[]): ts.VariableDeclaration[] {
  const f = low.f;
  const out: ts.VariableDeclaration[] = [];
  for (const c of clauses) {
    for (const s of c.statements) {
      if (!ts.isVariableStatement(s) || !isBlockScoped(s.declarationList)) continue;
      for (const d of s.declarationList.declarations) {
        for (const id of boundNames(d.name)) {
          const b = low.scope.bindingOf(id);
          const name = emittedName(low, id);
          const load = b !== undefined && low.isField(b) ? f.createConditionalExpression(low.pcIs(0), undefined, low.undef(), undefined, low.field(name)) : undefined;
          out.push(f.createVariableDeclaration(name, undefined, undefined, load));
        }
      }
    }
  }
  return out;
}

/** A clause statement; its let/const declarations (hoisted) become assignments. */
function lowerClauseStatement(low: Lowering, s: ts.Statement): void {
  if (ts.isVariableStatement(s) && isBlockScoped(s.declarationList)) {
    low.withTempScope(() => {
      for (const d of s.declarationList.declarations) {
        if (d.initializer === undefined) {
          for (const id of boundNames(d.name)) low.emitPlain(low.assign(emittedName(low, id), low.undef()));
        } else {
          assignDeclared(low, d);
        }
      }
    });
    return;
  }
  low.lowerStatement(s);
}
