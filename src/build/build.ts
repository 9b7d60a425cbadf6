/**
 * `buildProject`: type-aware analysis, rejections, then emit through TypeScript with the
 * checkpoint transformer running before TypeScript's own type stripping.
 *
 * Type errors do not stop a build (thread code may be loosely typed; `tsc --noEmit` is the place
 * for them). Syntax errors do, and so do the few grammar errors that TypeScript reports only from
 * its checker but that would make the emitted JavaScript invalid (`await` outside async code,
 * `with` in strict code, ...). Nothing is written unless the whole build is free of errors.
 *
 * Every module also gets a .d.ts next to its .js, declared from the source as written (not from
 * the frame classes the transformer emits), so that an application importing a built module sees
 * `sumTo(n: number): Promise<number>` and `vc.spawn(sumTo, n)` is typed from it. Declarations are
 * best-effort: when TypeScript cannot declare a module (an exported type it cannot name, ...), its
 * .js is still written, its .d.ts is not (a stale one is removed), and the reason is a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { analyze } from './analysis.ts';
import { compareDiagnostics, fromTsDiagnostic, type BuildDiagnostic } from './diagnostics.ts';
import { collectSourceFiles, compilerOptions, createHost } from './program.ts';
import { findRejections } from './rejections.ts';
import { checkpointTransformer } from './transformer.ts';

export interface BuildOptions {
  /** Directory of the sources; module ids (`file#name`) are relative to it. */
  rootDir: string;
  /** Where the .js, .js.map and .d.ts files go, mirroring the layout under rootDir. */
  outDir: string;
  /** The modules to build. @default every .ts file under rootDir (no .d.ts, no node_modules) */
  files?: string[];
  /** Module the emitted code imports the runtime from. @default 'ppp2p/runtime' */
  runtimeModule?: string;
}

export interface BuildResult {
  /** Errors, sorted by file and position; empty when the build succeeded. */
  diagnostics: BuildDiagnostic[];
  /** Absolute paths of the .js files written. */
  emitted: string[];
  /** Absolute paths of the .d.ts files written: one per emitted module TypeScript could declare. */
  declarations: string[];
  /**
   * Problems of a successful build, sorted like `diagnostics`: a module whose declarations
   * TypeScript cannot emit (its .js is written, its .d.ts is not). Empty when the build failed.
   */
  warnings: BuildDiagnostic[];
}

/** Checker grammar errors that leave no valid JavaScript to emit. */
const FATAL_GRAMMAR_CODES = new Set([
  1100, // invalid use of eval/arguments in strict mode
  1101, // 'with' statements are not allowed in strict mode
  1102, // delete of an identifier in strict mode
  1121, // octal literals
  1163, // 'yield' outside a generator
  1212, 1213, 1214, // reserved words in strict mode
  1300, // 'with' statements are not allowed in an async function block
  1308, // 'await' outside an async function
  18037, // 'await' in a class static block
]);

export function buildProject(opts: BuildOptions): BuildResult {
  const rootDir = path.resolve(opts.rootDir);
  const outDir = path.resolve(opts.outDir);
  const files = (opts.files ?? collectSourceFiles(rootDir)).map((f) => path.resolve(f));
  const options = compilerOptions(rootDir, outDir);
  const host = createHost(options, rootDir);
  const program = ts.createProgram({ rootNames: files, options, host });
  const sources = files.map((f) => program.getSourceFile(f));

  const missing = files.filter((_, i) => sources[i] === undefined);
  if (missing.length > 0) {
    return {
      diagnostics: missing.map((file) => ({
        file,
        line: 1,
        column: 1,
        code: 'PPP2P0002',
        message: 'cannot read the source file',
        hint: 'check that the file exists and is readable',
      })),
      ...nothingWritten(),
    };
  }
  const sfs = sources as ts.SourceFile[];
  const syntax = sfs.flatMap((sf) => program.getSyntacticDiagnostics(sf)).map(fromTsDiagnostic);
  if (syntax.length > 0) return { diagnostics: syntax.sort(compareDiagnostics), ...nothingWritten() };

  const analysis = analyze(program, sfs);
  const diagnostics = findRejections(analysis);
  // A construct rejected with a PPP2P code is not reported a second time by TypeScript.
  const rejectedLines = new Set(diagnostics.map((d) => `${d.file}:${d.line}`));
  for (const sf of sfs) {
    for (const d of program.getSemanticDiagnostics(sf)) {
      if (!FATAL_GRAMMAR_CODES.has(d.code)) continue;
      const bd = fromTsDiagnostic(d);
      if (!rejectedLines.has(`${bd.file}:${bd.line}`)) diagnostics.push(bd);
    }
  }
  if (diagnostics.length > 0) return { diagnostics: diagnostics.sort(compareDiagnostics), ...nothingWritten() };

  const outputs = new Map<string, string>();
  const appendix = new Map<string, string>();
  const transformer = checkpointTransformer({
    analysis,
    rootDir,
    buildFiles: new Set(sfs.map((sf) => sf.fileName)),
    diagnostics,
    appendix,
    ...(opts.runtimeModule === undefined ? {} : { runtimeModule: opts.runtimeModule }),
  });
  const warnings: BuildDiagnostic[] = [];
  /** The .d.ts of modules TypeScript could not declare: not written, and any older one is removed. */
  const undeclared: string[] = [];
  for (const sf of sfs) {
    // The emit below reports the same declaration diagnostics; these are the ones that are warnings.
    const declarationProblems = program.getDeclarationDiagnostics(sf);
    const result = program.emit(sf, (fileName, text) => outputs.set(fileName, text), undefined, false, { before: [transformer] });
    const isDeclarationProblem = (d: ts.Diagnostic): boolean =>
      declarationProblems.some((p) => p.code === d.code && p.start === d.start && p.file === d.file);
    for (const d of result.diagnostics) if (!isDeclarationProblem(d)) diagnostics.push(fromTsDiagnostic(d));
    if (declarationProblems.length > 0) {
      const dts = declarationFor(outputFor(sf.fileName, rootDir, outDir));
      undeclared.push(dts);
      for (const d of declarationProblems) warnings.push(declarationWarning(d, dts));
    }
    const extra = appendix.get(sf.fileName);
    if (extra !== undefined) {
      const js = [...outputs.keys()].find((k) => k.endsWith('.js') && samePath(k, outputFor(sf.fileName, rootDir, outDir)));
      if (js !== undefined) outputs.set(js, appendBeforeSourceMapComment(outputs.get(js)!, extra));
    }
  }
  if (diagnostics.length > 0) return { diagnostics: diagnostics.sort(compareDiagnostics), ...nothingWritten() };

  const emitted: string[] = [];
  const declarations: string[] = [];
  for (const [file, text] of outputs) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    if (file.endsWith('.js')) emitted.push(path.resolve(file));
    else if (/\.d\.m?ts$/.test(file)) declarations.push(path.resolve(file));
  }
  for (const dts of undeclared) fs.rmSync(dts, { force: true });
  return { diagnostics: [], emitted: emitted.sort(), declarations: declarations.sort(), warnings: warnings.sort(compareDiagnostics) };
}

function nothingWritten(): Omit<BuildResult, 'diagnostics'> {
  return { emitted: [], declarations: [], warnings: [] };
}

function outputFor(source: string, rootDir: string, outDir: string): string {
  return path.join(outDir, path.relative(rootDir, source)).replace(/\.m?ts$/, (ext) => (ext === '.mts' ? '.mjs' : '.js'));
}

/** `out/a.js` -> `out/a.d.ts`, `out/a.mjs` -> `out/a.d.mts`. */
function declarationFor(js: string): string {
  return js.replace(/\.(m?)js$/, '.d.$1ts');
}

/** A declaration emit diagnostic (TS4xxx, TS2742, ...) as a warning at the declaration it is about. */
function declarationWarning(d: ts.Diagnostic, dts: string): BuildDiagnostic {
  const bd = fromTsDiagnostic(d);
  return {
    ...bd,
    message: `${bd.message} (no declarations for this module: ${path.basename(dts)} not written; its .js is)`,
    hint: "give the export an explicit type that names only types the module exports or imports; `npx tsc --noEmit --declaration` shows the same message",
  };
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/** Appends code after the module's code, keeping the source map comment last (and the map valid). */
function appendBeforeSourceMapComment(text: string, extra: string): string {
  const marker = text.lastIndexOf('\n//# sourceMappingURL=');
  if (marker < 0) return `${text}\n${extra}`;
  return `${text.slice(0, marker)}\n${extra.trimEnd()}${text.slice(marker)}`;
}
