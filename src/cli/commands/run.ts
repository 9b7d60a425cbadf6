/** `ppp2p run <built.js> <export> [--args JSON] [--migrate-every N]`: one thread, locally. */
import { existsSync } from 'node:fs';
import { parseArgs, positiveInt } from '../args.ts';
import { CommandFailure, UsageError } from '../errors.ts';
import { runThreadLocally } from '../../daemon/host/frame-runner.ts';

const usage = 'ppp2p run <built.js> <export> [--args JSON] [--migrate-every N] [--quiet]';

export async function run(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { args: 'string', 'migrate-every': 'string', quiet: 'boolean' }, usage);
  const [file, exportName, extra] = positionals;
  if (file === undefined || exportName === undefined || extra !== undefined) {
    throw new UsageError(`expected a built module and an export name; usage: ${usage}`);
  }
  if (!existsSync(file)) throw new UsageError(`no such file: ${file} (build it first with: ppp2p build <dir> --out <dir>)`);
  let args: unknown[] = [];
  if (typeof flags.args === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.args);
    } catch (err) {
      throw new UsageError(`--args is not valid JSON (${(err as Error).message}); pass an array, e.g. --args '[1, 500]'`);
    }
    if (!Array.isArray(parsed)) throw new UsageError(`--args must be a JSON array of arguments, e.g. --args '[1, 500]'`);
    args = parsed;
  }
  const migrateEvery = positiveInt(flags, 'migrate-every', usage);
  const quiet = flags.quiet === true;
  const outcome = await runThreadLocally(file, exportName, {
    args,
    migrateEvery,
    onProgress: (v) => {
      if (!quiet) console.error(`progress ${JSON.stringify(v)}`);
    },
  }).catch((err: unknown) => {
    throw new CommandFailure(`the thread '${exportName}' of ${file}`, err);
  });
  if (!quiet) console.error(`done: ${outcome.snapshots} snapshots, ${outcome.migrations} migrations`);
  console.log(JSON.stringify(outcome.result));
  return 0;
}
