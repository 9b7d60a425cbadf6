/**
 * `npm run demo`: the one-command tour of ppp2p.
 *
 * 1. Builds the island code with `ppp2p build` (checkpointable functions become frame classes).
 * 2. Starts an embedded swarm of three peers on this machine and solves berlin52 with islands that
 *    exchange tours around a ring by message passing.
 * 3. Half way, SIGKILLs the peer running island 1, and shows the thread moving to another peer and
 *    resuming from its last checkpoint.
 * 4. Runs the same job undisturbed and checks that both end with the same tour length: in ring
 *    mode the result depends only on the seed, never on timing or failures.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadTsplib } from './tsplib.ts';
import { buildIsland } from './built-island.ts';
import { solveOnVirtualComputer, type TspRunOptions } from './cli.ts';
import { ProgressLine } from './progress-line.ts';
import { KNOWN_OPTIMA } from './optima.ts';
import type { VirtualComputer, VirtualThread } from '../../src/client/index.ts';
import type { IslandResult } from './island.ts';

const out = process.stderr;
const instanceFile = join(fileURLToPath(new URL('.', import.meta.url)), 'instances', 'berlin52.tsp');
const instance = loadTsplib(instanceFile);
const base: TspRunOptions = {
  instance,
  islands: 3,
  generations: Number(process.env.PPP2P_DEMO_GENERATIONS ?? 1500),
  seed: 2026,
  migration: 'ring',
  peers: 3,
  // Two slots per peer: when one of the three peers dies, the two left still hold all three islands,
  // which the ring needs (each island waits for its neighbour's tours).
  slotsPerWorker: 2,
  optimum: KNOWN_OPTIMA[instance.name],
};

function say(text: string): void {
  out.write(`\n\x1b[1m${text}\x1b[0m\n`);
}

// A demo must never hang: if no island reports progress for a minute, say so and stop.
let lastProgress = performance.now();
const watchdog = setInterval(() => {
  if (performance.now() - lastProgress > 60_000) {
    out.write('\nno progress for 60 s: the swarm is stuck. Please report this with the output above.\n');
    process.exit(1);
  }
}, 5_000);
watchdog.unref();

say('1/4  ppp2p build samples/tsp: checkpointable functions become frame classes');
const started = performance.now();
buildIsland();
out.write(`built in ${((performance.now() - started) / 1000).toFixed(1)} s -> samples/tsp/.out/island.js\n`);

say(`2/4  solving ${instance.name} (${instance.dimension} cities) on an embedded swarm of ${base.peers} peers, ${base.islands} islands, ring migration`);
let vc: VirtualComputer | undefined;
let threads: readonly VirtualThread<IslandResult>[] = [];
let killed: { pid: number; peerId: string } | undefined;
const line = new ProgressLine(base, out);
const disturbed = await solveOnVirtualComputer({
  ...base,
  onStarted(v, spawned) {
    vc = v;
    threads = spawned;
    line.started(v.workers.length);
  },
  onProgress(p) {
    lastProgress = performance.now();
    line.progress(p);
    if (killed === undefined && p.island === 1 && p.generation >= base.generations / 2 && vc !== undefined) {
      const host = threads[1]?.host;
      const victim = vc.embeddedPeers.find((peer) => peer.peerId === host);
      if (victim !== undefined) {
        killed = victim;
        say(`3/4  SIGKILL peer ${victim.peerId.slice(0, 8)} (pid ${victim.pid}), which runs island 1 at generation ${p.generation}`);
        process.kill(victim.pid, 'SIGKILL');
      }
    }
  },
  onMigrated: (m) => line.migrated(m),
});
line.finish();
if (killed === undefined) out.write('(the run ended before the kill point; nothing was killed)\n');

say('4/4  the same job, undisturbed, for comparison');
const reference = await solveOnVirtualComputer({
  ...base,
  onProgress: () => {
    lastProgress = performance.now();
  },
});

const gap = (len: number): string => (base.optimum === undefined ? '' : ` (gap ${(((len - base.optimum) / base.optimum) * 100).toFixed(2)}%)`);
out.write(`\nwith a peer killed half way: best length ${disturbed.bestLength}${gap(disturbed.bestLength)} in ${disturbed.seconds} s\n`);
out.write(`undisturbed:                 best length ${reference.bestLength}${gap(reference.bestLength)} in ${reference.seconds} s\n`);
const same = disturbed.bestLength === reference.bestLength && disturbed.tour.join() === reference.tour.join();
out.write(same ? 'same tour: the failure was invisible to the application.\n' : 'DIFFERENT results: this is a bug, please report it.\n');
out.write(`
What to try next:
  npm run tsp -- --instance samples/tsp/instances/kroA100.tsp --islands 4 --generations 500 --migration global --peers 2
  npx ppp2p build test/corpus --out test/.out/try && npx ppp2p run test/.out/try/recursion-fib.js main --migrate-every 1
  three terminals: see "Three terminals" in README.md (two \`ppp2p peer\`, one application)
`);
process.exitCode = same ? 0 : 1;
