/**
 * Constructs checkpointable code cannot use, found on the analysis before anything is emitted.
 * Every diagnostic points at the checkpoint (or checkpointable call) that cannot be a site, or at
 * the offending construct (eval, with, arguments).
 *
 * How a call of `checkpoint()` or of a checkpointable function is judged, by the innermost
 * function around it:
 *   constructor -> 1002; getter/setter -> 1003; field initializer, static block -> 1004;
 *   generator -> 1005; function or arrow handed to a call as an argument -> 1001;
 *   arrow as a field initializer -> 1004; any other nested function, object-literal or nested
 *   class method -> 1009; a transformable function: fine when awaited, else 1012 (checkpoint)
 *   or 1008 (checkpointable call).
 */
import ts from 'typescript';
import type { Analysis, Container } from './analysis.ts';
import { diagnosticAt, type BuildDiagnostic, type DiagnosticCode } from './diagnostics.ts';
import { isCallArgument, isDirectlyAwaited, isTransformableShape, memberNameText, outerParent, skipOuter, type CheckpointableFunction } from './syntax.ts';

export function findRejections(analysis: Analysis): BuildDiagnostic[] {
  const out: BuildDiagnostic[] = [];
  const seen = new Set<string>();
  const report = (node: ts.Node, code: DiagnosticCode, detail?: string): void => {
    const d = diagnosticAt(node, code, detail);
    const key = `${d.file}:${d.line}:${d.column}:${d.code}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };

  for (const { call, container } of analysis.checkpointingCalls) {
    const isCheckpoint = analysis.checkpointCalls.has(call);
    const code = judge(call, container, isCheckpoint);
    if (code !== undefined) report(call, code, describe(call, isCheckpoint, code, container));
  }
  for (const ref of analysis.escapingReferences) {
    const receiver = outerParent(ref) as ts.CallExpression;
    report(ref, 'PPP2P1001', `\`${short(ref)}\` can checkpoint and is passed to \`${short(receiver.expression)}\``);
  }
  for (const fn of analysis.transformed) {
    if (ts.isMethodDeclaration(fn) && memberNameText(fn.name) === undefined) {
      report(fn.name, 'PPP2P1013', 'a checkpointable method needs a plain name, not a computed one');
    }
    scanBody(analysis, fn, report);
  }
  return out;
}

/** Source text of a node, shortened for a one-line message. */
function short(node: ts.Node): string {
  const text = node.getText().replace(/\s+/g, ' ');
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** What is wrong at this call, in words that name the code. */
function describe(call: ts.CallExpression, isCheckpoint: boolean, code: DiagnosticCode, container: Container): string {
  const callee = `\`${short(call.expression)}()\``;
  const subject = isCheckpoint ? callee : `${callee}, which can checkpoint,`;
  switch (code) {
    case 'PPP2P1001': {
      const receiver = outerParent(container!) as ts.CallExpression;
      return `${subject} is called in a callback passed to \`${short(receiver.expression)}\``;
    }
    case 'PPP2P1008':
      return `${subject} is called but its promise is kept, dropped or combined instead of awaited`;
    case 'PPP2P1009':
      return `${subject} is called in a nested ${container !== undefined && ts.isArrowFunction(container) ? 'arrow function' : 'function'}`;
    case 'PPP2P1012':
      return 'its promise is kept, dropped or combined instead of awaited';
    default:
      return `${subject} is called there`;
  }
}

function judge(call: ts.CallExpression, container: Container, isCheckpoint: boolean): DiagnosticCode | undefined {
  const awaited = isDirectlyAwaited(call);
  const notAwaited: DiagnosticCode = isCheckpoint ? 'PPP2P1012' : 'PPP2P1008';
  if (container === undefined) return awaited || !isCheckpoint ? undefined : 'PPP2P1012';
  if (ts.isPropertyDeclaration(container) || ts.isClassStaticBlockDeclaration(container)) return 'PPP2P1004';
  if (ts.isConstructorDeclaration(container)) return 'PPP2P1002';
  if (ts.isGetAccessorDeclaration(container) || ts.isSetAccessorDeclaration(container)) return 'PPP2P1003';
  if (container.asteriskToken !== undefined) return 'PPP2P1005';
  const transformable: boolean = isTransformableShape(container);
  if ((ts.isArrowFunction(container) || ts.isFunctionExpression(container)) && !transformable) {
    if (!awaited) return notAwaited;
    if (isCallArgument(container)) return 'PPP2P1001';
    if (ts.isPropertyDeclaration(container.parent)) return 'PPP2P1004';
    return 'PPP2P1009';
  }
  if (!awaited) return notAwaited;
  return transformable ? undefined : 'PPP2P1009';
}

/** eval, with, arguments and checkpoints in for-await loops, in a function that is transformed. */
function scanBody(analysis: Analysis, fn: CheckpointableFunction, report: (n: ts.Node, c: DiagnosticCode, d?: string) => void): void {
  const visit = (node: ts.Node, ownArguments: boolean, inForAwait: boolean): void => {
    if (ts.isWithStatement(node)) report(node, 'PPP2P1007', 'its scope cannot be saved in a frame (and modules are strict code, where `with` is a syntax error)');
    if (ts.isCallExpression(node) && ts.isIdentifier(skipOuter(node.expression)) && (skipOuter(node.expression) as ts.Identifier).text === 'eval') {
      report(node, 'PPP2P1006');
    }
    if (ownArguments && ts.isIdentifier(node) && node.text === 'arguments' && isValueReference(node)) report(node, 'PPP2P1010');
    if (inForAwait && ts.isAwaitExpression(node) && analysis.sites.has(node)) report(node, 'PPP2P1011');
    // A nested non-arrow function has its own `arguments`; arrows share the enclosing one.
    const nestedOwn = ownArguments && !(ts.isFunctionLike(node) && !ts.isArrowFunction(node));
    const nestedFn = ts.isFunctionLike(node);
    const forAwait = ts.isForOfStatement(node) && node.awaitModifier !== undefined;
    ts.forEachChild(node, (child) =>
      visit(child, nestedOwn, !nestedFn && (inForAwait || (forAwait && child === (node as ts.ForOfStatement).statement))),
    );
  };
  const body = fn.body!;
  if (ts.isBlock(body)) ts.forEachChild(body, (child) => visit(child, true, false));
  else visit(body, true, false);
}

function isValueReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === id) return false;
  return true;
}
