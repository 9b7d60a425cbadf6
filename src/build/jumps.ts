/**
 * Jumps (break, continue, return) in lowered code, and the visitor for code without sites.
 *
 * Lowering keeps the structure of the source, so most jumps stay as they are. Two constructs
 * redirect them:
 * - a try statement whose finally contains sites (see try-finally.ts): a jump out of its try or
 *   catch block becomes `{ $c = code; break $exit; }` and is re-issued after the finally code;
 *   `return v` becomes `{ $cv = v; $c = 1; break $exit; }`;
 * - a loop whose update or test contains sites is desugared (see loops.ts): `continue` becomes
 *   `break $next` to the end of its body, where the update runs.
 * Statements without sites are not lowered, but they may still contain such jumps and renamed
 * locals, so they go through `visitPlain`.
 */
import ts from 'typescript';
import type { FinallyBarrier, JumpEntry, Lowering } from './lowering.ts';
import { isLoop } from './syntax.ts';

export const COMPLETION_NORMAL = 0;
export const COMPLETION_RETURN = 1;
export const COMPLETION_THROW = 2;
/** Jump `i` through a finally barrier is recorded as completion `COMPLETION_JUMP + i`. */
export const COMPLETION_JUMP = 3;

/** The statement that performs `break/continue [label]` from the current position. */
export function resolveJump(low: Lowering, kind: 'break' | 'continue', label: string | undefined): ts.Statement {
  const f = low.f;
  for (let i = low.jumps.length - 1; i >= 0; i--) {
    const e = low.jumps[i]!;
    if (e.kind === 'finally') {
      let index = e.jumps.findIndex((j) => j.kind === kind && j.label === label);
      if (index < 0) index = e.jumps.push({ kind, label }) - 1;
      return leaveThrough(low, e, COMPLETION_JUMP + index);
    }
    const matches =
      label !== undefined
        ? e.labels.includes(label)
        : kind === 'break'
          ? e.kind === 'loop' || e.kind === 'switch'
          : e.kind === 'loop';
    if (!matches) continue;
    if (kind === 'continue' && e.kind === 'loop' && e.continueLabel !== undefined) {
      return f.createBreakStatement(e.continueLabel);
    }
    break;
  }
  return kind === 'break' ? f.createBreakStatement(label) : f.createContinueStatement(label);
}

/** The statement that returns `value` from the current position. */
export function resolveReturn(low: Lowering, value: ts.Expression | undefined): ts.Statement {
  const barrier = innermostBarrier(low);
  if (barrier === undefined) return low.f.createReturnStatement(value);
  barrier.returns = true;
  return low.block([low.assign(barrier.value, value ?? low.undef()), ...leaveThrough(low, barrier, COMPLETION_RETURN).statements]);
}

export function innermostBarrier(low: Lowering): FinallyBarrier | undefined {
  for (let i = low.jumps.length - 1; i >= 0; i--) {
    const e = low.jumps[i]!;
    if (e.kind === 'finally') return e;
  }
  return undefined;
}

function leaveThrough(low: Lowering, barrier: FinallyBarrier, code: number): ts.Block {
  return low.block([low.assign(barrier.completion, low.num(code)), low.f.createBreakStatement(barrier.exit)]);
}

/** Runs `fn` with `entry` on the jump stack. */
export function withJumpEntry<R>(low: Lowering, entry: JumpEntry, fn: () => R): R {
  low.jumps.push(entry);
  try {
    return fn();
  } finally {
    low.jumps.pop();
  }
}

/** Labels directly on `stmt` (`a: b: for ...`), and the statement under them. */
export function unwrapLabels(stmt: ts.Statement): { labels: string[]; inner: ts.Statement } {
  const labels: string[] = [];
  while (ts.isLabeledStatement(stmt)) {
    labels.push(stmt.label.text);
    stmt = stmt.statement;
  }
  return { labels, inner: stmt };
}

/**
 * Visits code without sites: renames locals that were renamed apart, and redirects jumps that
 * leave through a finally barrier or a desugared loop. Returns the node itself when neither applies.
 */
export function visitPlain<T extends ts.Node>(low: Lowering, node: T): T {
  const redirect = low.jumps.some((e) => e.kind === 'finally' || (e.kind === 'loop' && e.continueLabel !== undefined));
  if (!low.scope.hasRenames && !redirect) return node;
  const f = low.f;
  const scope = low.scope;
  const ctx = low.context;

  const visit = (n: ts.Node, nested: boolean): ts.Node => {
    if (ts.isTypeNode(n) && !ts.isExpressionWithTypeArguments(n)) return n;
    if (ts.isIdentifier(n)) {
      const b = scope.hasRenames ? scope.bindingOf(n) : undefined;
      return b !== undefined && b.name !== n.text ? ts.setOriginalNode(ts.setTextRange(f.createIdentifier(b.name), n), n) : n;
    }
    if (ts.isShorthandPropertyAssignment(n) && scope.hasRenames) {
      const symbol = scope.checker.getShorthandAssignmentValueSymbol(n);
      const b = symbol === undefined ? undefined : scope.bySymbol.get(symbol);
      if (b !== undefined && b.name !== n.name.text) {
        const value =
          n.objectAssignmentInitializer === undefined
            ? f.createIdentifier(b.name)
            : f.createAssignment(f.createIdentifier(b.name), visit(n.objectAssignmentInitializer, nested) as ts.Expression);
        return ts.setTextRange(f.createPropertyAssignment(n.name.text, value), n);
      }
    }
    if (ts.isBindingElement(n) && n.propertyName === undefined && ts.isIdentifier(n.name) && ts.isObjectBindingPattern(n.parent)) {
      const b = scope.hasRenames ? scope.bindingOf(n.name) : undefined;
      if (b !== undefined && b.name !== n.name.text) {
        return f.updateBindingElement(
          n,
          n.dotDotDotToken,
          f.createIdentifier(n.name.text),
          f.createIdentifier(b.name),
          n.initializer === undefined ? undefined : (visit(n.initializer, nested) as ts.Expression),
        );
      }
    }
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) {
      return ts.visitEachChild(n, (c) => visit(c, true), ctx);
    }
    if (!nested && redirect) {
      if (ts.isBreakStatement(n) || ts.isContinueStatement(n)) {
        const kind = ts.isBreakStatement(n) ? 'break' : 'continue';
        return ts.setTextRange(resolveJump(low, kind, n.label?.text), n);
      }
      if (ts.isReturnStatement(n)) {
        const value = n.expression === undefined ? undefined : (visit(n.expression, nested) as ts.Expression);
        return ts.setTextRange(resolveReturn(low, value), n);
      }
      if (ts.isLabeledStatement(n) || isLoop(n) || ts.isSwitchStatement(n)) {
        const { labels, inner } = unwrapLabels(n as ts.Statement);
        if (n !== inner && !isLoop(inner) && !ts.isSwitchStatement(inner)) {
          return withJumpEntry(low, { kind: 'label', labels }, () => ts.visitEachChild(n, (c) => visit(c, nested), ctx));
        }
        // Labels belong to the loop or switch they name; visit the labeled chain as one target.
        const entry: JumpEntry = ts.isSwitchStatement(inner) ? { kind: 'switch', labels } : { kind: 'loop', labels };
        const visited = withJumpEntry(low, entry, () => ts.visitEachChild(inner, (c) => visit(c, nested), ctx));
        let out: ts.Statement = visited;
        for (let i = labels.length - 1; i >= 0; i--) out = f.createLabeledStatement(labels[i]!, out);
        return n === inner ? visited : ts.setTextRange(out, n);
      }
    }
    return ts.visitEachChild(n, (c) => visit(c, nested), ctx);
  };
  return visit(node, false) as T;
}
