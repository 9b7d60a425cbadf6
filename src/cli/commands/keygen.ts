/** `ppp2p keygen`: print a new swarm key (base64 of 32 random bytes) for --swarm-key-file and `swarmKey`. */
import { randomBytes } from 'node:crypto';
import { parseArgs } from '../args.ts';
import { UsageError } from '../errors.ts';
import { SWARM_KEY_BYTES } from '../../protocol/handshake.ts';

const usage = 'ppp2p keygen > swarm.key';

export function run(argv: string[]): Promise<number> {
  const { positionals } = parseArgs(argv, {}, usage);
  if (positionals.length > 0) throw new UsageError(`keygen takes no arguments; usage: ${usage}`);
  console.log(randomBytes(SWARM_KEY_BYTES).toString('base64'));
  return Promise.resolve(0);
}
