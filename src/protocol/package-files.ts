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
