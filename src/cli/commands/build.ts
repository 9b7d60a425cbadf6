/** `ppp2p build <dir> --out <dir>`: transform every module under <dir>; each gets a .d.ts of its source's types. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import { buildProject, formatDiagnostic } from '../../build/index.ts';

const usage = 'ppp2p build <dir> --out <dir>';

export async function run(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { out: 'string' }, usage);
  const [dir, extra] = positionals;
  if (dir === undefined || extra !== undefined) throw new UsageError(`expected one source directory; usage: ${usage}`);
  if (typeof flags.out !== 'string') throw new UsageError(`--out <dir> is required; usage: ${usage}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a directory: ${dir}`);
  const result = buildProject({ rootDir: resolve(dir), outDir: resolve(flags.out) });
  for (const d of result.diagnostics) console.error(formatDiagnostic(d));
  if (result.diagnostics.length > 0) {
    console.error(`ppp2p build: ${result.diagnostics.length} error(s); nothing was written.`);
    return 1;
  }
  for (const w of result.warnings) console.error(`warning: ${formatDiagnostic(w)}`);
  const undeclared = result.emitted.length - result.declarations.length;
  const declarations = undeclared > 0 ? `, ${undeclared} of them without a .d.ts (see the warnings)` : ', each with its .d.ts';
  console.error(`ppp2p build: ${result.emitted.length} module(s) written to ${flags.out}${declarations}`);
  return 0;
}
