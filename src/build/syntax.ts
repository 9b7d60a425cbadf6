/**
 * Small syntax helpers shared by the analysis and the transform. No checker, no state.
 */
import ts from 'typescript';

/** Function-like nodes that own a body and therefore a set of suspension sites. */
export type FunctionWithBody =
  | ts.FunctionDeclaration
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction;

/**
 * The functions `ppp2p build` can turn into frames: module-level function declarations, methods
 * of module-level classes, and module-level `const f = async (...) => ...` / `async function`.
 */
export type CheckpointableFunction = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression;

export function isFunctionWithBody(node: ts.Node): node is FunctionWithBody {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node)
  );
}

/**
 * Whether a function could be transformed if it contains a site: a module-level function
 * declaration, a method of a module-level class declaration, or the initializer of a module-level
 * `const`; with a body, not a generator.
 */
export function isTransformableShape(node: ts.Node): node is CheckpointableFunction {
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) {
    return moduleConstOf(node) !== undefined && (ts.isArrowFunction(node) || node.asteriskToken === undefined);
  }
  if (ts.isFunctionDeclaration(node)) {
    return node.body !== undefined && node.asteriskToken === undefined && ts.isSourceFile(node.parent);
  }
  if (ts.isMethodDeclaration(node)) {
    return (
      node.body !== undefined &&
      node.asteriskToken === undefined &&
      ts.isClassDeclaration(node.parent) &&
      ts.isSourceFile(node.parent.parent)
    );
  }
  return false;
}

/** Parentheses, type assertions, `!` and `satisfies` change nothing at run time. */
export function skipOuter(expr: ts.Expression): ts.Expression {
  for (;;) {
    if (
      ts.isParenthesizedExpression(expr) ||
      ts.isAsExpression(expr) ||
      ts.isTypeAssertionExpression(expr) ||
      ts.isNonNullExpression(expr) ||
      ts.isSatisfiesExpression(expr)
    ) {
      expr = expr.expression;
    } else {
      return expr;
    }
  }
}

/** The node that consumes `expr`'s value, looking through parentheses and type assertions. */
export function outerParent(expr: ts.Node): ts.Node {
  let node = expr;
  while (
    ts.isParenthesizedExpression(node.parent) ||
    ts.isAsExpression(node.parent) ||
    ts.isTypeAssertionExpression(node.parent) ||
    ts.isNonNullExpression(node.parent) ||
    ts.isSatisfiesExpression(node.parent)
  ) {
    node = node.parent;
  }
  return node.parent;
}

/** Whether a call's value goes straight into `await` (so that the caller is suspended on it). */
export function isDirectlyAwaited(call: ts.CallExpression): boolean {
  return ts.isAwaitExpression(outerParent(call));
}

/** Whether a function or arrow is handed straight to a call (`xs.forEach(async (x) => ...)`). */
export function isCallArgument(fn: ts.Node): boolean {
  const parent = outerParent(fn);
  return (ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression !== fn && parent.arguments !== undefined
    ? parent.arguments.some((a) => a === fn || skipOuter(a) === fn)
    : false;
}

/** 1-based line of a node's first token. */
export function lineOf(node: ts.Node): number {
  const sf = node.getSourceFile();
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

/** The name under which a method is reachable from its class (`step`, `#step`, `'my-step'`), if static. */
export function memberNameText(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isComputedPropertyName(name)) {
    const e = name.expression;
    return ts.isStringLiteral(e) || ts.isNumericLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) ? e.text : undefined;
  }
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  return undefined;
}

export function isStatic(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword) ?? false);
}

/** Whether `text` can follow a dot (`obj.text`): an identifier name (reserved words included). */
export function isPropertyNameText(text: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(text);
}

export function isLoop(node: ts.Node): node is ts.IterationStatement {
  return (
    ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node) || ts.isWhileStatement(node) || ts.isDoStatement(node)
  );
}

/** The module-level `const` declaration whose initializer is `fn` (through parentheses), if any. */
export function moduleConstOf(fn: ts.ArrowFunction | ts.FunctionExpression): ts.VariableDeclaration | undefined {
  let node: ts.Node = fn;
  while (ts.isParenthesizedExpression(node.parent)) node = node.parent;
  const decl = node.parent;
  if (!ts.isVariableDeclaration(decl) || decl.initializer !== node || !ts.isIdentifier(decl.name)) return undefined;
  const list = decl.parent;
  if (!ts.isVariableDeclarationList(list) || (list.flags & ts.NodeFlags.Const) === 0) return undefined;
  return ts.isVariableStatement(list.parent) && ts.isSourceFile(list.parent.parent) ? decl : undefined;
}

/** A function body as statements: an arrow's expression body is `return <expression>`. */
export function bodyStatements(fn: ts.FunctionLikeDeclaration, f: ts.NodeFactory): readonly ts.Statement[] {
  const body = fn.body!;
  return ts.isBlock(body) ? body.statements : [ts.setTextRange(f.createReturnStatement(body), body)];
}
