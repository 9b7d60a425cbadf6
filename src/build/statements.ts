/**
 * Statement lowering: turns the statements of a checkpointable function into items (see
 * lowering.ts). Statements without sites pass through unchanged (only renamed locals and
 * redirected jumps are touched); declarations stay where they are; compound statements keep their
 * shape, entered on resume by their site range.
 *
 *   [source]                           [lowered]
 *   if (c) A else B   (sites in A)     if ($pc !== 0 || c) A' else B
 *   { S1; S2(site 3); S3 }             { if ($pc === 0) { S1 } <site 3>; S3 }
 *   const x = f();    (x live later)   const x = $pc === 0 ? f() : $f.x;
 *   const { a, b } = o;                let a = $pc === 0 ? void 0 : $f.a, b = ...; if ($pc === 0) ({ a, b } = o);
 */
import ts from 'typescript';
import type { Lowering } from './lowering.ts';
import { resolveReturn, innermostBarrier, unwrapLabels, visitPlain, withJumpEntry } from './jumps.ts';
import { explode, explodeSiteCall, explodeValue } from './linearize.ts';
import { emitIf, hasSite } from './values.ts';
import { isBlockScoped, lowerDeclarations } from './declarations.ts';
import { lowerLoop } from './loops.ts';
import { lowerSwitch } from './switch.ts';
import { lowerTry } from './try-statement.ts';
import { isLoop, skipOuter } from './syntax.ts';

/** Lowers one statement into items of the current list. */
export function lowerStatement(low: Lowering, stmt: ts.Statement): void {
  if (!hasSite(low, stmt)) {
    emitSiteFree(low, stmt);
    return;
  }
  // Temporaries of one statement are dead after it: later sites do not spill them.
  low.withTempScope(() => lowerWithSites(low, stmt));
}

function lowerWithSites(low: Lowering, stmt: ts.Statement): void {
  const f = low.f;
  const { labels, inner } = unwrapLabels(stmt);
  if (isLoop(inner)) return lowerLoop(low, inner, labels);
  if (ts.isSwitchStatement(inner)) return lowerSwitch(low, inner, labels);
  if (labels.length > 0) {
    low.emitCompound(() => {
      const body = withJumpEntry(low, { kind: 'label', labels }, () => low.lowerBlock([inner]));
      let out: ts.Statement = low.block(body);
      for (let i = labels.length - 1; i >= 0; i--) out = f.createLabeledStatement(labels[i]!, out);
      return [ts.setTextRange(out, stmt)];
    });
    return;
  }
  if (ts.isExpressionStatement(stmt)) {
    const rest = explode(low, stmt.expression, true);
    if (rest !== undefined) low.emitPlain(ts.setTextRange(f.createExpressionStatement(rest), stmt));
  } else if (ts.isVariableStatement(stmt)) {
    lowerDeclarations(low, stmt.declarationList);
  } else if (ts.isReturnStatement(stmt)) {
    lowerReturn(low, stmt);
  } else if (ts.isThrowStatement(stmt)) {
    low.emitPlain(f.updateThrowStatement(stmt, explodeValue(low, stmt.expression)));
  } else if (ts.isIfStatement(stmt)) {
    const cond = explodeValue(low, stmt.expression);
    const otherwise = stmt.elseStatement;
    emitIf(low, cond, () => lowerStatement(low, stmt.thenStatement), otherwise === undefined ? undefined : () => lowerStatement(low, otherwise));
  } else if (ts.isBlock(stmt)) {
    low.emitCompound(() => low.scoped(low.lowerBlock(stmt.statements)));
  } else if (ts.isTryStatement(stmt)) {
    lowerTry(low, stmt);
  } else {
    low.reject(stmt, 'PPP2P1013', `a checkpointable call inside ${ts.SyntaxKind[stmt.kind]}`);
  }
}

function lowerReturn(low: Lowering, stmt: ts.ReturnStatement): void {
  const value = stmt.expression!;
  const inner = skipOuter(value);
  const info = ts.isAwaitExpression(inner) ? low.scope.siteInfo(inner) : undefined;
  if (info !== undefined && innermostBarrier(low) === undefined) {
    low.emitSite(inner as ts.AwaitExpression, info, explodeSiteCall(low, info.call), { kind: 'return' });
    return;
  }
  low.emitPlain(ts.setTextRange(resolveReturn(low, explodeValue(low, value)), stmt));
}

/** Statements without sites: declarations stay at block level, the rest runs on a fresh pass only. */
export function emitSiteFree(low: Lowering, stmt: ts.Statement): void {
  if (ts.isVariableStatement(stmt) && isBlockScoped(stmt.declarationList)) {
    lowerDeclarations(low, stmt.declarationList);
  } else if (
    ts.isFunctionDeclaration(stmt) ||
    ts.isClassDeclaration(stmt) ||
    ts.isEnumDeclaration(stmt) ||
    ts.isInterfaceDeclaration(stmt) ||
    ts.isTypeAliasDeclaration(stmt) ||
    ts.isModuleDeclaration(stmt)
  ) {
    low.emitDecl(visitPlain(low, stmt));
  } else if (ts.isBlock(stmt)) {
    const inner = low.scoped(visitPlain(low, stmt).statements.slice());
    if (inner.length > 0) low.emitPlain(...inner);
  } else if (!ts.isEmptyStatement(stmt)) {
    low.emitPlain(visitPlain(low, stmt));
  }
}
