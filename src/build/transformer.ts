/**
 * The `before` transformer: rewrites the modules of a build (TypeScript strips types afterwards).
 *
 * Per module it adds `import * as $rt from 'ppp2p/runtime'` and, after the imports, the frame
 * classes of its checkpointable functions with their registration; rewrites those functions and
 * methods (emit-function.ts); imports `checkpoint`, `thread` and `globals` from 'ppp2p/thread'
 * instead of 'ppp2p' when an import takes nothing else; and registers, for the runtime:
 * - every top-level class: `$rt.registerClass(C, 'mod.ts#C')`, so the snapshot codec restores
 *   instances with their prototype; `$rt.registerClass(C, 'mod.ts#C', { privateState: true })`
 *   (or `'methods'`) when it declares #private instance members, so the codec refuses its instances;
 * - every exported function: `$rt.registerExport(fn, import.meta.url, 'name')`, so that
 *   `vc.spawn(fn)` can name the function in a worker.
 * Frame classes go first because a module may call its functions before their declarations.
 */
import path from 'node:path';
import ts from 'typescript';
import type { Analysis } from './analysis.ts';
import type { BuildDiagnostic } from './diagnostics.ts';
import { ModuleHelpers } from './cursor-helpers.ts';
import { FileNames } from './names.ts';
import { transformFunction, type ModuleContext } from './emit-function.ts';
import { isPropertyNameText, isStatic, memberNameText, skipOuter } from './syntax.ts';

export interface TransformerOptions {
  analysis: Analysis;
  rootDir: string;
  /** Absolute file names of the modules of the build. */
  buildFiles: ReadonlySet<string>;
  diagnostics: BuildDiagnostic[];
  /** Filled in: helper code to append to a module's output, by source file name. */
  appendix: Map<string, string>;
  /** Module the emitted code imports the runtime from. @default 'ppp2p/runtime' */
  runtimeModule?: string;
}

export function checkpointTransformer(opts: TransformerOptions): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (sf) => (opts.buildFiles.has(sf.fileName) ? transformModule(context, sf, opts) : sf);
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);
}

function transformModule(context: ts.TransformationContext, sf: ts.SourceFile, opts: TransformerOptions): ts.SourceFile {
  const f = context.factory;
  const names = new FileNames(sf);
  const rt = names.unique('$rt');
  const helpers = new ModuleHelpers(names);
  const file = path.relative(opts.rootDir, sf.fileName).split(path.sep).join('/');
  const m: ModuleContext = {
    context,
    analysis: opts.analysis,
    names,
    helpers,
    diagnostics: opts.diagnostics,
    rt,
    file,
    runtimeNames: { T: names.unique('$t'), D: names.unique('$d'), F: names.unique('$f'), PC: names.unique('$pc') },
  };
  const rtCall = (name: string, ...args: ts.Expression[]): ts.Statement =>
    f.createExpressionStatement(f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(rt), name), undefined, args));
  const importMetaUrl = (): ts.Expression =>
    f.createPropertyAccessExpression(f.createMetaProperty(ts.SyntaxKind.ImportKeyword, f.createIdentifier('meta')), 'url');
  const registerExport = (local: string, exported: string): ts.Statement =>
    rtCall('registerExport', f.createIdentifier(local), importMetaUrl(), f.createStringLiteral(exported));
  const setFn = (frame: string, value: ts.Expression): ts.Statement =>
    f.createExpressionStatement(f.createAssignment(f.createPropertyAccessExpression(f.createIdentifier(frame), 'fn'), value));

  const top: ts.Statement[] = [];
  const out: ts.Statement[] = [];
  const localFunctions = new Set<string>();
  for (const stmt of sf.statements) {
    if (ts.isFunctionDeclaration(stmt) && stmt.name !== undefined && stmt.body !== undefined) localFunctions.add(stmt.name.text);
    if (ts.isVariableStatement(stmt)) for (const d of functionConsts(stmt)) localFunctions.add(d.name.text);
  }
  let registers = false;
  let rewroteImport = false;

  for (const stmt of sf.statements) {
    if (ts.isFunctionDeclaration(stmt) && stmt.body !== undefined) {
      const exported = hasModifier(stmt, ts.SyntaxKind.ExportKeyword);
      const isDefault = hasModifier(stmt, ts.SyntaxKind.DefaultKeyword);
      const transformed = opts.analysis.transformed.has(stmt);
      const name = stmt.name?.text ?? (transformed || exported ? names.unique('$default') : undefined);
      let node: ts.FunctionDeclaration = stmt;
      if (transformed && name !== undefined) {
        const frameName = names.unique(`${name}$Frame`);
        const r = transformFunction(m, stmt, name, frameName);
        top.push(r.frameClass, setFn(frameName, f.createIdentifier(name)), rtCall('registerFrame', f.createIdentifier(frameName)));
        node = f.updateFunctionDeclaration(stmt, stmt.modifiers, stmt.asteriskToken, f.createIdentifier(name), stmt.typeParameters, r.parameters, stmt.type, r.body);
      } else if (stmt.name === undefined && name !== undefined) {
        node = f.updateFunctionDeclaration(stmt, stmt.modifiers, stmt.asteriskToken, f.createIdentifier(name), stmt.typeParameters, stmt.parameters, stmt.type, stmt.body);
      }
      out.push(node);
      if (exported && name !== undefined && !hasModifier(stmt, ts.SyntaxKind.DeclareKeyword)) {
        out.push(registerExport(name, isDefault ? 'default' : name));
        registers = true;
      }
      continue;
    }
    if (ts.isClassDeclaration(stmt) && !hasModifier(stmt, ts.SyntaxKind.DeclareKeyword)) {
      const r = transformClass(m, stmt, top, setFn);
      out.push(r.node);
      if (r.name !== undefined) {
        const privateState = privateStateOf(stmt);
        const options =
          privateState === undefined
            ? []
            : [f.createObjectLiteralExpression([f.createPropertyAssignment('privateState', privateState === 'fields' ? f.createTrue() : f.createStringLiteral('methods'))])];
        out.push(...r.after, rtCall('registerClass', f.createIdentifier(r.name), f.createStringLiteral(`${file}#${r.name}`), ...options));
        registers = true;
      }
      continue;
    }
    if (ts.isVariableStatement(stmt)) {
      const r = transformConstFunctions(m, stmt, top, setFn);
      out.push(r.node, ...r.after);
      if (hasModifier(stmt, ts.SyntaxKind.ExportKeyword) && !hasModifier(stmt, ts.SyntaxKind.DeclareKeyword)) {
        for (const name of r.functions) {
          out.push(registerExport(name, name));
          registers = true;
        }
      }
      continue;
    }
    if (ts.isImportDeclaration(stmt) && importsThreadApiOnly(stmt)) {
      out.push(f.updateImportDeclaration(stmt, stmt.modifiers, stmt.importClause, f.createStringLiteral(THREAD_MODULE, stmt.moduleSpecifier.getText(sf).startsWith("'")), stmt.attributes));
      rewroteImport = true;
      continue;
    }
    out.push(stmt);
    if (ts.isExportDeclaration(stmt) && stmt.moduleSpecifier === undefined && !stmt.isTypeOnly && stmt.exportClause !== undefined && ts.isNamedExports(stmt.exportClause)) {
      for (const el of stmt.exportClause.elements) {
        const local = (el.propertyName ?? el.name).text;
        if (!el.isTypeOnly && localFunctions.has(local)) {
          out.push(registerExport(local, el.name.text));
          registers = true;
        }
      }
    }
    if (ts.isExportAssignment(stmt) && !stmt.isExportEquals && ts.isIdentifier(stmt.expression) && localFunctions.has(stmt.expression.text)) {
      out.push(registerExport(stmt.expression.text, 'default'));
      registers = true;
    }
  }
  const appendix = helpers.render();
  if (appendix !== undefined) opts.appendix.set(sf.fileName, appendix);
  if (top.length === 0 && !registers && appendix === undefined) return rewroteImport ? f.updateSourceFile(sf, out) : sf;

  let firstCode = out.findIndex((s) => !ts.isImportDeclaration(s) && !ts.isImportEqualsDeclaration(s));
  if (firstCode < 0) firstCode = out.length;
  const rtImport = f.createImportDeclaration(
    undefined,
    f.createImportClause(false, undefined, f.createNamespaceImport(f.createIdentifier(rt))),
    f.createStringLiteral(opts.runtimeModule ?? 'ppp2p/runtime'),
  );
  const statements = [rtImport, ...out.slice(0, firstCode), ...top, ...out.slice(firstCode)];
  return f.updateSourceFile(sf, statements);
}

/** What `ppp2p/thread` exports: all that thread code needs, without the application SDK behind `ppp2p`. */
const THREAD_API = new Set(['checkpoint', 'thread', 'globals']);
const THREAD_MODULE = 'ppp2p/thread';

/**
 * Whether an import from 'ppp2p' takes nothing but `checkpoint`, `thread` and `globals` (types aside):
 * the emitted module then imports them from 'ppp2p/thread', so that a worker running thread code does
 * not load the application SDK (VirtualComputer, the peer controller, ws, esbuild).
 */
function importsThreadApiOnly(stmt: ts.ImportDeclaration): boolean {
  const clause = stmt.importClause;
  if (!ts.isStringLiteral(stmt.moduleSpecifier) || stmt.moduleSpecifier.text !== 'ppp2p') return false;
  if (clause === undefined || clause.isTypeOnly || clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  if (bindings === undefined || !ts.isNamedImports(bindings)) return false;
  const values = bindings.elements.filter((el) => !el.isTypeOnly);
  return values.length > 0 && values.every((el) => THREAD_API.has((el.propertyName ?? el.name).text));
}

/**
 * Whether instances of a class carry #private state a snapshot cannot hold: 'fields' when it declares
 * #private instance fields (auto-accessors included), 'methods' when only #private methods or
 * accessors (a restored instance lacks their brand too). Static #private members belong to the class.
 */
function privateStateOf(cls: ts.ClassDeclaration): 'fields' | 'methods' | undefined {
  let state: 'fields' | 'methods' | undefined;
  for (const member of cls.members) {
    if (member.name === undefined || !ts.isPrivateIdentifier(member.name) || isStatic(member)) continue;
    if (ts.isPropertyDeclaration(member)) return 'fields';
    state = 'methods';
  }
  return state;
}

/** Rewrites the checkpointable methods of a top-level class; frame classes go to `top`. */
function transformClass(
  m: ModuleContext,
  cls: ts.ClassDeclaration,
  top: ts.Statement[],
  setFn: (frame: string, value: ts.Expression) => ts.Statement,
): { node: ts.ClassDeclaration; name: string | undefined; after: ts.Statement[] } {
  const f = m.context.factory;
  const transformedMethods = cls.members.filter(
    (mem): mem is ts.MethodDeclaration => ts.isMethodDeclaration(mem) && m.analysis.transformed.has(mem),
  );
  const className = cls.name?.text ?? (transformedMethods.length > 0 ? m.names.unique('$default') : undefined);
  if (className === undefined) return { node: cls, name: undefined, after: [] };
  const after: ts.Statement[] = [];
  const staticBlocks: ts.ClassStaticBlockDeclaration[] = [];
  const rtRegister = (frame: string): ts.Statement =>
    f.createExpressionStatement(
      f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(m.rt), 'registerFrame'), undefined, [f.createIdentifier(frame)]),
    );
  const members = cls.members.map((mem) => {
    if (!ts.isMethodDeclaration(mem) || !m.analysis.transformed.has(mem)) return mem;
    const methodName = memberNameText(mem.name);
    if (methodName === undefined) return mem; // computed name: rejected (PPP2P1013)
    const isPrivate = ts.isPrivateIdentifier(mem.name);
    const staticMethod = isStatic(mem);
    const qualified = `${className}.${staticMethod ? 'static.' : ''}${methodName}`;
    const safe = methodName.replace(/[^A-Za-z0-9_$]/g, '_');
    const frameName = m.names.unique(`${className}$${staticMethod ? 'static$' : ''}${safe}$Frame`);
    const r = transformFunction(m, mem, qualified, frameName);
    top.push(r.frameClass, rtRegister(frameName));
    // The function `resumeCall` invokes with `this = frame.self`.
    const self = f.createThis();
    const holder = staticMethod ? f.createIdentifier(className) : undefined;
    const access = (obj: ts.Expression): ts.Expression =>
      isPrivate
        ? f.createPropertyAccessExpression(obj, f.createPrivateIdentifier(methodName))
        : isPropertyNameText(methodName)
          ? f.createPropertyAccessExpression(obj, methodName)
          : f.createElementAccessExpression(obj, f.createStringLiteral(methodName));
    let fnValue: ts.Expression;
    if (!staticMethod && !isPrivate) {
      fnValue = access(f.createPropertyAccessExpression(f.createIdentifier(className), 'prototype'));
    } else {
      // Static methods keep no `self` (a class is not data): they resume with `this` = the class.
      const call = staticMethod
        ? f.createCallExpression(f.createPropertyAccessExpression(access(holder!), 'call'), undefined, [
            f.createBinaryExpression(self, ts.SyntaxKind.QuestionQuestionToken, f.createIdentifier(className)),
          ])
        : f.createCallExpression(access(self), undefined, []);
      fnValue = f.createFunctionExpression(undefined, undefined, undefined, undefined, [], undefined, f.createBlock([f.createReturnStatement(call)], false));
    }
    const assignment = setFn(frameName, fnValue);
    // A private method is reachable only from inside its class.
    if (isPrivate) staticBlocks.push(f.createClassStaticBlockDeclaration(f.createBlock([assignment], true)));
    else after.push(assignment);
    return f.updateMethodDeclaration(mem, mem.modifiers, mem.asteriskToken, mem.name, mem.questionToken, mem.typeParameters, r.parameters, mem.type, r.body);
  });
  const name = cls.name ?? f.createIdentifier(className);
  const node = f.updateClassDeclaration(cls, cls.modifiers, name, cls.typeParameters, cls.heritageClauses, [...members, ...staticBlocks]);
  return { node, name: className, after };
}

/** `const f = async (...) => ...` / `= async function ...` declarations of a module-level statement. */
function functionConsts(stmt: ts.VariableStatement): (ts.VariableDeclaration & { name: ts.Identifier })[] {
  if ((stmt.declarationList.flags & ts.NodeFlags.Const) === 0) return [];
  return stmt.declarationList.declarations.filter((d): d is ts.VariableDeclaration & { name: ts.Identifier } => {
    const init = d.initializer === undefined ? undefined : skipOuter(d.initializer);
    return ts.isIdentifier(d.name) && init !== undefined && (ts.isArrowFunction(init) || ts.isFunctionExpression(init));
  });
}

/**
 * Rewrites the checkpointable functions a module-level `const` holds. Their `fn` is set after the
 * statement: a `const` is not hoisted like a function declaration.
 */
function transformConstFunctions(
  m: ModuleContext,
  stmt: ts.VariableStatement,
  top: ts.Statement[],
  setFn: (frame: string, value: ts.Expression) => ts.Statement,
): { node: ts.VariableStatement; after: ts.Statement[]; functions: string[] } {
  const f = m.context.factory;
  const after: ts.Statement[] = [];
  const consts = functionConsts(stmt);
  const declarations = stmt.declarationList.declarations.map((d) => {
    if (!consts.includes(d as ts.VariableDeclaration & { name: ts.Identifier })) return d;
    const fn = skipOuter(d.initializer!) as ts.ArrowFunction | ts.FunctionExpression;
    if (!m.analysis.transformed.has(fn)) return d;
    const name = (d.name as ts.Identifier).text;
    const frameName = m.names.unique(`${name}$Frame`);
    const r = transformFunction(m, fn, name, frameName);
    top.push(
      r.frameClass,
      f.createExpressionStatement(
        f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(m.rt), 'registerFrame'), undefined, [f.createIdentifier(frameName)]),
      ),
    );
    after.push(setFn(frameName, f.createIdentifier(name)));
    const updated = ts.isArrowFunction(fn)
      ? f.updateArrowFunction(fn, fn.modifiers, fn.typeParameters, r.parameters, fn.type, fn.equalsGreaterThanToken, r.body)
      : f.updateFunctionExpression(fn, fn.modifiers, fn.asteriskToken, fn.name, fn.typeParameters, r.parameters, fn.type, r.body);
    return f.updateVariableDeclaration(d, d.name, d.exclamationToken, d.type, updated);
  });
  const node = f.updateVariableStatement(stmt, stmt.modifiers, f.updateVariableDeclarationList(stmt.declarationList, declarations));
  return { node, after, functions: consts.map((d) => d.name.text) };
}
