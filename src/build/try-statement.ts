/**
 * try/catch/finally with sites.
 *
 * Sites in the try block: resuming re-enters the try block (the catch and finally around it
 * stay in force). Sites in the catch block: the try block first throws a private sentinel when the
 * resumed site is in the catch, and the catch restores its binding from the frame:
 *   try { if ($pc >= k) throw $f; A' } catch (e) { if ($pc !== 0) e = $f.e; B' }
 *
 * Sites in the finally block: the finally code is moved after the statement and the way the
 * try/catch part ended is kept in a completion record, `$c` (0 normal, 1 return, 2 throw,
 * 3+i the i-th jump out) and `$cv` (return value or exception), both frame fields:
 *   $exit: { $c = 0; $cv = undefined; try { try { A' } catch (e) { B' } } catch ($e) { $c = 2; $cv = $e; } }
 *   C'
 *   if ($c === 1) return $cv; if ($c === 2) throw $cv; if ($c === 3) break L; ...
 * A jump out of A or B becomes `{ $c = 3; break $exit; }` (see jumps.ts). Resuming inside C
 * skips the try/catch part, so a finally that already ran is never run again.
 */
import ts from 'typescript';
import type { FinallyBarrier, Lowering } from './lowering.ts';
import { COMPLETION_JUMP, COMPLETION_NORMAL, COMPLETION_RETURN, COMPLETION_THROW, resolveJump, resolveReturn, visitPlain, withJumpEntry } from './jumps.ts';
import { hasSite } from './values.ts';
import { lowerDeclarations } from './declarations.ts';

export function lowerTry(low: Lowering, stmt: ts.TryStatement): void {
  const finallyHasSites = stmt.finallyBlock !== undefined && hasSite(low, stmt.finallyBlock);
  if (!finallyHasSites) {
    low.emitCompound(() => [tryCatch(low, stmt, true)]);
    return;
  }
  lowerTryFinally(low, stmt);
}

/** The try/catch part with its sites; `keepFinally` keeps a finally without sites in place. */
function tryCatch(low: Lowering, stmt: ts.TryStatement, keepFinally: boolean): ts.Statement {
  const f = low.f;
  const tryStmts = low.lowerBlock(stmt.tryBlock.statements);
  const clause = stmt.catchClause;
  const finallyBlock = keepFinally && stmt.finallyBlock !== undefined ? visitPlain(low, stmt.finallyBlock) : undefined;
  if (clause === undefined) return f.updateTryStatement(stmt, low.block(tryStmts), undefined, finallyBlock);
  if (!hasSite(low, clause.block)) {
    return f.updateTryStatement(stmt, low.block(tryStmts), visitPlain(low, clause), finallyBlock);
  }
  const catchFirst = low.siteCount + 1;
  const variable = clause.variableDeclaration;
  let binding: ts.VariableDeclaration | undefined;
  let prologue: ts.Statement[] = [];
  let bodyItems;
  if (variable !== undefined && ts.isIdentifier(variable.name)) {
    const name = low.scope.bindingOf(variable.name)?.name ?? variable.name.text;
    binding = f.createVariableDeclaration(name);
    prologue = [f.createIfStatement(low.pcIsNot(0), low.assign(name, low.field(name)))];
    bodyItems = low.collect(() => clause.block.statements.forEach((s) => low.lowerStatement(s)));
  } else if (variable !== undefined) {
    // `catch ({ message })`: catch into a temporary and destructure like a declaration.
    const caught = low.names.fresh('$err');
    binding = f.createVariableDeclaration(caught);
    const decl = f.createVariableDeclaration(variable.name, undefined, undefined, low.id(caught));
    bodyItems = low.collect(() => {
      lowerDeclarations(low, f.createVariableDeclarationList([decl], ts.NodeFlags.Let));
      clause.block.statements.forEach((s) => low.lowerStatement(s));
    });
  } else {
    bodyItems = low.collect(() => clause.block.statements.forEach((s) => low.lowerStatement(s)));
  }
  const catchStmts = [...prologue, ...low.assemble(bodyItems)];
  // The try block hands control to the catch block when the resumed site is in it.
  const sentinel = f.createIfStatement(f.createGreaterThanEquals(low.pc(), low.num(catchFirst)), f.createThrowStatement(low.id(low.F)));
  return f.updateTryStatement(
    stmt,
    low.block([sentinel, ...tryStmts]),
    f.updateCatchClause(clause, binding, low.block(catchStmts)),
    finallyBlock,
  );
}

function lowerTryFinally(low: Lowering, stmt: ts.TryStatement): void {
  const f = low.f;
  const completion = low.newTemp('$c');
  const value = low.newTemp('$cv');
  const barrier: FinallyBarrier = { kind: 'finally', exit: low.names.fresh('$exit'), completion, value, jumps: [], returns: false };
  low.emitCompound(() => {
    const items = low.collect(() => {
      low.emitCompound(() => {
        const inner = withJumpEntry(low, barrier, () =>
          stmt.catchClause !== undefined ? tryCatch(low, stmt, false) : low.block(low.lowerBlock(stmt.tryBlock.statements)),
        );
        const caught = low.names.fresh('$e');
        const guarded = f.createTryStatement(
          ts.isBlock(inner) ? inner : low.block([inner]),
          f.createCatchClause(caught, low.block([low.assign(completion, low.num(COMPLETION_THROW)), low.assign(value, low.id(caught))])),
          undefined,
        );
        const body = low.block([low.assign(completion, low.num(COMPLETION_NORMAL)), low.assign(value, low.undef()), guarded]);
        return [f.createLabeledStatement(barrier.exit, body)];
      });
      low.emitCompound(() => low.scoped(low.lowerBlock(stmt.finallyBlock!.statements)));
      // After the finally code the statement completes as the try/catch part did.
      const is = (code: number): ts.Expression => f.createStrictEquality(low.id(completion), low.num(code));
      const dispatch: ts.Statement[] = [];
      if (barrier.returns) dispatch.push(f.createIfStatement(is(COMPLETION_RETURN), resolveReturn(low, low.id(value))));
      dispatch.push(f.createIfStatement(is(COMPLETION_THROW), f.createThrowStatement(low.id(value))));
      barrier.jumps.forEach((j, i) => dispatch.push(f.createIfStatement(is(COMPLETION_JUMP + i), resolveJump(low, j.kind, j.label))));
      low.emitPlain(...dispatch);
    });
    return low.scoped(low.assemble(items));
  });
}
