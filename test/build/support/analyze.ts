/** Runs the meta pass alone over sources given as strings and names what it found. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { analyze } from '../../../src/build/analysis.ts';
import { collectSourceFiles, compilerOptions, createHost } from '../../../src/build/program.ts';
import { moduleConstOf, type CheckpointableFunction } from '../../../src/build/syntax.ts';
import { outRoot } from './build.ts';

export interface AnalysisSummary {
  /** `file.ts#Name` or `file.ts#Class.method` of every function that gets a frame. */
  transformed: string[];
  /** `file.ts:line kind` of every site. */
  sites: string[];
}

export function analyzeSources(name: string, files: Record<string, string>): AnalysisSummary {
  const dir = join(outRoot, 'analysis', name);
  rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const rootNames = collectSourceFiles(dir);
  const options = compilerOptions(dir, join(dir, '..', `${name}-out`));
  const program = ts.createProgram({ rootNames, options, host: createHost(options, dir) });
  const analysis = analyze(program, rootNames.map((f) => program.getSourceFile(f)!));
  const where = (n: ts.Node): string => relative(dir, n.getSourceFile().fileName);
  const nameOf = (fn: CheckpointableFunction): string => {
    if (ts.isMethodDeclaration(fn)) return `${(fn.parent as ts.ClassDeclaration).name?.text}.${fn.name.getText()}`;
    if (ts.isFunctionDeclaration(fn)) return fn.name?.text ?? 'default';
    return (moduleConstOf(fn)?.name as ts.Identifier | undefined)?.text ?? '?';
  };
  return {
    transformed: [...analysis.transformed].map((fn) => `${where(fn)}#${nameOf(fn)}`).sort(),
    sites: [...analysis.sites]
      .map(([aw, info]) => `${where(aw)}:${aw.getSourceFile().getLineAndCharacterOfPosition(aw.getStart()).line + 1} ${info.kind}`)
      .sort(),
  };
}
