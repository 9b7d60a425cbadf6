/** The `ppp2p` command as tests start it: node with the options this checkout needs, then the CLI entry. */
import { nodeCommandFor } from '../../src/protocol/package-files.ts';

const [node, ...entry] = nodeCommandFor('cli/ppp2p.js') as [string, ...string[]];

/** The node executable that runs the CLI. */
export const NODE = node;

/** Arguments for {@link NODE} that run `ppp2p ...args`. */
export function cliArgs(...args: string[]): string[] {
  return [...entry, ...args];
}
