/**
 * The TypeScript program of a build: compiler options, the files under the build root, and a
 * compiler host that keeps parsed library and SDK files between builds (a test suite or a watch
 * loop builds many small projects; parsing lib.*.d.ts and @types/node dominates each one).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { createRequire } from 'node:module';
import { PACKAGE_TREE, SDK_FROM_SOURCE } from './analysis.ts';

/** An SDK module as the type checker sees it: the source, or the compiled declarations of an installed package. */
const sdkModule = (file: string): string => path.join(PACKAGE_TREE, SDK_FROM_SOURCE ? `${file}.ts` : `${file}.d.ts`);

/** The folder holding `@types/node`, wherever the package manager put it (nested in ppp2p or hoisted beside it). */
function nodeTypesRoot(): string[] {
  try {
    return [path.dirname(path.dirname(createRequire(import.meta.url).resolve('@types/node/package.json')))];
  } catch {
    return [];
  }
}

/** Options for every build. `ppp2p` resolves to this package's SDK even outside the repo. */
export function compilerOptions(rootDir: string, outDir: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    // ESNext + Bundler: always ES module output, whatever package.json (if any) is near the sources.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    rewriteRelativeImportExtensions: true,
    allowImportingTsExtensions: true,
    sourceMap: true,
    // A .d.ts per module, from the source as written (custom `before` transformers do not reach
    // declaration emit): importers of a built module get its real signatures.
    declaration: true,
    strict: true,
    skipLibCheck: true,
    noEmitOnError: false,
    useDefineForClassFields: true,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: nodeTypesRoot(),
    rootDir,
    outDir,
    paths: {
      ppp2p: [sdkModule('client/index')],
      'ppp2p/runtime': [sdkModule('runtime/index')],
      'ppp2p/thread': [sdkModule('runtime/thread-api')],
    },
  };
}

/** Every .ts module under `dir` (not .d.ts, not node_modules, not hidden directories), sorted. */
export function collectSourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && /\.(ts|mts)$/.test(entry.name) && !/\.d\.(ts|mts)$/.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  languageVersion: ts.ScriptTarget;
  sf: ts.SourceFile;
}

const cache = new Map<string, CachedFile>();

/** A compiler host whose files outside the build root are parsed once per content version. */
export function createHost(options: ts.CompilerOptions, rootDir: string): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const inBuild = (file: string): boolean => !path.relative(rootDir, file).startsWith('..');
  const original = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    const languageVersion =
      typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions.languageVersion : languageVersionOrOptions;
    if (inBuild(path.resolve(fileName))) return original(fileName, languageVersionOrOptions, onError, shouldCreate);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(fileName);
    } catch {
      return original(fileName, languageVersionOrOptions, onError, shouldCreate);
    }
    const hit = cache.get(fileName);
    if (hit !== undefined && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size && hit.languageVersion === languageVersion) return hit.sf;
    const sf = original(fileName, languageVersionOrOptions, onError, shouldCreate);
    if (sf !== undefined) cache.set(fileName, { mtimeMs: stat.mtimeMs, size: stat.size, languageVersion, sf });
    return sf;
  };
  return host;
}
