/**
 * One checkpointable function -> its frame class and its rewritten body (shape: see the doc
 * comment of src/runtime/frame.ts).
 *
 *   async function f(a, b = 1, { c }) { ... }
 *   ->
 *   class f$Frame extends $rt.Frame { static id = 'm.ts#f'; static layout = '…'; static fields = [...]; ... static fn; }
 *   async function f(a, b, $p1) {
 *     const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(f$Frame);
 *     let $pc = $f.pc;
 *     let c, $v1;                                  // bindings of parameter patterns, temporaries
 *     if ($pc !== 0) { a = $f.a; b = $f.b; c = $f.c; }
 *     else { if (b === undefined) b = 1; ({ c } = $p1); }
 *     ...lowered body...
 *   }
 * Defaults and parameter patterns run in the body, on a fresh call only: a resumed call gets no
 * arguments and must not evaluate them (a default may draw from `thread.random()`).
 */
import { createHash } from 'node:crypto';
import ts from 'typescript';
import type { Analysis } from './analysis.ts';
import { FunctionScope } from './function-scope.ts';
import { Lowering, type LoweringPasses } from './lowering.ts';
import type { FileNames } from './names.ts';
import { diagnosticAt, type BuildDiagnostic } from './diagnostics.ts';
import type { ModuleHelpers } from './cursor-helpers.ts';
import { lowerStatement } from './statements.ts';
import { bindingToAssignmentPattern } from './destructuring.ts';
import { explode, explodeInto, reference } from './linearize.ts';
import { plain } from './values.ts';
import { bodyStatements, type CheckpointableFunction } from './syntax.ts';

export interface ModuleContext {
  readonly context: ts.TransformationContext;
  readonly analysis: Analysis;
  readonly names: FileNames;
  readonly helpers: ModuleHelpers;
  readonly diagnostics: BuildDiagnostic[];
  /** Name of the `ppp2p/runtime` namespace import. */
  readonly rt: string;
  /** Module path relative to the build root, posix, with `.ts`. */
  readonly file: string;
  readonly runtimeNames: { T: string; D: string; F: string; PC: string };
}

export interface FunctionOutput {
  /** The frame class declaration. */
  frameClass: ts.ClassDeclaration;
  frameName: string;
  /** The rewritten body and parameters. */
  parameters: ts.ParameterDeclaration[];
  body: ts.Block;
}

/** The recursive entry points every `Lowering` calls back through (see `LoweringPasses`). */
const passes: LoweringPasses = { lowerStatement, explode, explodeInto, reference };

/** 16 hex characters of the sha256 of the function's source text. */
export function layoutHash(fn: ts.Node): string {
  return createHash('sha256').update(fn.getText()).digest('hex').slice(0, 16);
}

/**
 * Rewrites one function. A failure of the transform itself becomes a PPP2P0003 diagnostic at the
 * function (the build then writes nothing) rather than a crash of the whole build.
 */
export function transformFunction(m: ModuleContext, fn: CheckpointableFunction, qualifiedName: string, frameName: string): FunctionOutput {
  try {
    return rewrite(m, fn, qualifiedName, frameName);
  } catch (err) {
    m.diagnostics.push(diagnosticAt(fn.name ?? fn, 'PPP2P0003', err instanceof Error ? err.message : String(err)));
    const f = m.context.factory;
    const body = f.createBlock(bodyStatements(fn, f), true);
    return { frameClass: f.createClassDeclaration(undefined, frameName, undefined, undefined, []), frameName, parameters: [...fn.parameters], body };
  }
}

function rewrite(m: ModuleContext, fn: CheckpointableFunction, qualifiedName: string, frameName: string): FunctionOutput {
  const f = m.context.factory;
  const scope = new FunctionScope(fn, m.analysis, m.names);
  const low = new Lowering(m.context, scope, m.names, m.diagnostics, m.helpers, m.runtimeNames, passes);
  const { T, D, F, PC } = m.runtimeNames;
  const hasSites = scope.sites.length > 0;

  // Parameters: defaults and patterns move into the body (fresh calls only).
  const fresh: ts.Statement[] = [];
  const patternNames: string[] = [];
  const parameters = fn.parameters.map((p) => {
    if (!hasSites) return p;
    if (ts.isIdentifier(p.name)) {
      const name = scope.bindingOf(p.name)?.name ?? p.name.text;
      if (p.initializer !== undefined) {
        fresh.push(
          f.createIfStatement(f.createStrictEquality(f.createIdentifier(name), low.undef()), low.assign(name, plain(low, p.initializer))),
        );
      }
      return f.updateParameterDeclaration(p, p.modifiers, p.dotDotDotToken, f.createIdentifier(name), p.questionToken, p.type, undefined);
    }
    const arg = m.names.fresh('$p');
    for (const b of scope.bindings) {
      if (b.kind === 'param' && isInside(b, p)) patternNames.push(b.name);
    }
    const value =
      p.initializer === undefined
        ? f.createIdentifier(arg)
        : f.createConditionalExpression(
            f.createStrictEquality(f.createIdentifier(arg), low.undef()),
            undefined,
            plain(low, p.initializer),
            undefined,
            f.createIdentifier(arg),
          );
    fresh.push(f.createExpressionStatement(f.createAssignment(bindingToAssignmentPattern(low, p.name), value)));
    return f.updateParameterDeclaration(p, p.modifiers, p.dotDotDotToken, f.createIdentifier(arg), p.questionToken, p.type, undefined);
  });

  const statements = bodyStatements(fn, f);
  const lowered = hasSites ? low.lowerBlock(statements) : [...statements];

  // Prologue.
  const prologue: ts.Statement[] = [];
  const rtCall = (name: string, ...args: ts.Expression[]): ts.Expression =>
    f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(m.rt), name), undefined, args);
  prologue.push(
    f.createVariableStatement(
      undefined,
      f.createVariableDeclarationList(
        [
          f.createVariableDeclaration(T, undefined, undefined, rtCall('currentThread')),
          f.createVariableDeclaration(D, undefined, undefined, f.createPropertyAccessExpression(f.createIdentifier(T), 'depth')),
          f.createVariableDeclaration(
            F,
            undefined,
            undefined,
            f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(T), 'enter'), undefined, [f.createIdentifier(frameName)]),
          ),
        ],
        ts.NodeFlags.Const,
      ),
    ),
  );
  if (hasSites) {
    prologue.push(
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(
          [f.createVariableDeclaration(PC, undefined, undefined, f.createPropertyAccessExpression(f.createIdentifier(F), 'pc'))],
          ts.NodeFlags.Let,
        ),
      ),
    );
    const vars = scope.bindings.filter((b) => b.kind === 'var').map((b) => b.name);
    if (vars.length > 0) {
      prologue.push(f.createVariableStatement(undefined, f.createVariableDeclarationList(vars.map((n) => f.createVariableDeclaration(n)))));
    }
    const lets = [...patternNames, ...low.temps];
    if (lets.length > 0) {
      prologue.push(
        f.createVariableStatement(undefined, f.createVariableDeclarationList(lets.map((n) => f.createVariableDeclaration(n)), ts.NodeFlags.Let)),
      );
    }
    // Function-level names are loaded here; block-level ones where they are declared.
    const loads: ts.Statement[] = [];
    for (const b of scope.bindings) {
      if ((b.kind === 'param' || b.kind === 'var') && low.spilled.has(b.name)) loads.push(low.assign(b.name, low.field(b.name)));
    }
    for (const t of low.temps) if (low.spilled.has(t)) loads.push(low.assign(t, low.field(t)));
    if (loads.length > 0 || fresh.length > 0) {
      prologue.push(f.createIfStatement(low.pcIsNot(0), low.block(loads), fresh.length > 0 ? low.block(fresh) : undefined));
    }
  }

  // Frame fields in encoding order: parameters and locals, temporaries, then `self`.
  const fields = [
    ...scope.bindings.filter((b) => low.spilled.has(b.name)).map((b) => b.name),
    ...low.allTemps.filter((t) => low.spilled.has(t)),
    ...(low.spilled.has('self') ? ['self'] : []),
  ];
  const staticProp = (name: string, value: ts.Expression | undefined): ts.PropertyDeclaration =>
    f.createPropertyDeclaration([f.createToken(ts.SyntaxKind.StaticKeyword)], name, undefined, undefined, value);
  const frameClass = f.createClassDeclaration(
    undefined,
    frameName,
    undefined,
    [
      f.createHeritageClause(ts.SyntaxKind.ExtendsKeyword, [
        f.createExpressionWithTypeArguments(f.createPropertyAccessExpression(f.createIdentifier(m.rt), 'Frame'), undefined),
      ]),
    ],
    [
      staticProp('id', f.createStringLiteral(`${m.file}#${qualifiedName}`)),
      staticProp('layout', f.createStringLiteral(layoutHash(fn))),
      staticProp('fields', f.createArrayLiteralExpression(fields.map((n) => f.createStringLiteral(n)))),
      staticProp('sites', f.createArrayLiteralExpression(low.siteLines.map((n) => f.createNumericLiteral(n)))),
      staticProp('file', f.createStringLiteral(m.file)),
      staticProp('fn', undefined),
    ],
  );
  const body = ts.setTextRange(f.createBlock([...prologue, ...lowered], true), fn.body!);
  return { frameClass, frameName, parameters, body };
}

function isInside(b: { id: ts.Identifier }, p: ts.ParameterDeclaration): boolean {
  return b.id.pos >= p.pos && b.id.end <= p.end;
}
