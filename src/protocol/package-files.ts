/**
 * Where this package's own files are, and how to start a Node process on one of them.
 *
 * The package runs in one of two forms whose trees mirror each other: compiled (`dist/`, what an installed package
 * and `ppp2p` users run, plain `node`) or from source (`src/`, this repository's tests and scripts under tsx). A
 * process of one form starts children of the same form, so that one process never loads both copies of the runtime:
 * thread code and executors must share one `ppp2p/runtime` instance. From source, bare `ppp2p` imports resolve to
 * `src/` through the `ppp2p-source` export condition (package.json), which children get with `--conditions`.
 * @internal
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Whether this process runs the package from its TypeScript sources rather than from `dist/`. */
export const RUNS_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The export condition under which bare `ppp2p` specifiers resolve to `src/`. */
export const SOURCE_CONDITION = 'ppp2p-source';

/**
 * URL of the package file at `path` under the source or compiled root, whichever this process runs: `'runtime/index.js'`
 * names `dist/runtime/index.js` compiled and `src/runtime/index.ts` from source. A `.js` path that is a JavaScript
 * file in the sources too (a boot file) is given as `.js` and kept.
 */
export function packageFile(path: string): URL {
  const url = new URL(`../${path}`, import.meta.url);
  if (RUNS_FROM_SOURCE && path.endsWith('.js') && !path.endsWith('-boot.js')) url.pathname = url.pathname.replace(/\.js$/, '.ts');
  return url;
}

/**
 * URL of the compiled package file at `path` (`dist/<path>`), whichever form this process runs. Sandboxed executors
 * always run compiled code: from source they would need tsx, whose transforms start esbuild as a child process,
 * which the sandbox forbids. They share no runtime instance with the daemon that starts them, so the daemon's
 * form does not matter to them.
 */
export function compiledPackageFile(path: string): URL {
  return RUNS_FROM_SOURCE ? new URL(`../../dist/${path}`, import.meta.url) : packageFile(path);
}

/** Node options a child process needs to run this package's files in the form this process runs. */
export function childNodeOptions(): string[] {
  if (!RUNS_FROM_SOURCE) return [];
  // tsx is a development dependency: only a source checkout starts children from .ts files.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  return ['--import', tsx, `--conditions=${SOURCE_CONDITION}`];
}

/** The command (node and its options) that runs the package file at `path`, e.g. `'cli/ppp2p.js'`. */
export function nodeCommandFor(path: string): string[] {
  return [process.execPath, ...childNodeOptions(), '--enable-source-maps', fileURLToPath(packageFile(path))];
}

/** This package's root directory (the one holding package.json, `src/` and `dist/`). */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/**
 * The directory of each installed package that a process running `paths` of this package loads code from, besides
 * this package itself: an executor sandbox may read these and nothing else. An installed ppp2p's dependencies can
 * be hoisted next to it (`app/node_modules/msgpackr`), outside its own root.
 */
export function dependencyRoots(specifiers: readonly string[]): string[] {
  const require = createRequire(import.meta.url);
  const roots = new Set<string>();
  for (const spec of specifiers) {
    const file = require.resolve(spec);
    const at = file.lastIndexOf('/node_modules/');
    if (at === -1) continue;
    const rest = file.slice(at + '/node_modules/'.length).split('/');
    const name = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    roots.add(`${file.slice(0, at)}/node_modules/${name}/`);
  }
  return [...roots];
}
