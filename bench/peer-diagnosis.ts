/**
 * How a bench starts its peers when someone is diagnosing it. `BENCH_PEER_NODE_ARGS` adds node/V8 options to every
 * peer (split on spaces, e.g. `--trace-opt --trace-deopt` or `--cpu-prof --cpu-prof-dir=/tmp/prof`), and
 * `BENCH_PEER_STDOUT=<dir>` writes each peer's stdout (where V8's traces go) to `<dir>/peer-<i>-<time>.log` instead of
 * dropping it. Without either, peers start as users start them.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

export interface PeerDiagnosis {
  stdout: NodeJS.WritableStream | null;
  nodeArgs: string[];
  /** Prepended to the launcher the bench uses (if any). */
  launcher: string[];
}

export function peerDiagnosis(i: number): PeerDiagnosis {
  const nodeArgs = (process.env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const dir = process.env.BENCH_PEER_STDOUT;
  if (dir === undefined) return { stdout: null, nodeArgs, launcher: [] };
  // V8 prints its traces through C stdio, which buffers a pipe by blocks: line-buffered, they cannot split the peer's
  // `listening` line.
  return { stdout: createWriteStream(join(dir, `peer-${i}-${Date.now()}.log`)), nodeArgs, launcher: ['stdbuf', '-oL'] };
}
