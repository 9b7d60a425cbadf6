/**
 * bench/sandbox: what the donor sandbox costs a compute-bound thread: the TSP sample's island (the genetic
 * algorithm's generation loop, checkpointing every second) on a one-worker embedded swarm, with the worker's
 * sandbox `off` (a worker thread of the daemon) and `strict` (or `process`) side by side in one run, alternating.
 *
 * ```sh
 * npm run bench:sandbox -- [--modes off,strict] [--rotations 3] [--cities 250] [--generations 300]
 * ```
 * Each mode starts its own swarm, runs one warm-up island (code loading and the executor's start are not the loop),
 * then times `rotations` islands from spawn to result, alternating with the other modes. Prints one JSON object:
 * per mode the island times and their median, and each mode's median against `off` (issue 16: strict within 5%).
 */
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { VirtualComputer } from '../src/client/index.ts';
import { loadBuiltIsland } from '../samples/tsp/built-island.ts';
import { uniformInstance } from '../samples/tsp/tsplib.ts';

type Mode = 'off' | 'process' | 'strict';
const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: 'off,strict' },
    rotations: { type: 'string', default: '3' },
    cities: { type: 'string', default: '250' },
    generations: { type: 'string', default: '300' },
  },
  strict: true,
});
const MODES = values.modes.split(',') as Mode[];
const ROTATIONS = Number(values.rotations);
const CITIES = Number(values.cities);
const GENERATIONS = Number(values.generations);

const island = await loadBuiltIsland();
const instance = uniformInstance(CITIES, 7);
const config = { instance, generations: GENERATIONS, seed: 1, migration: 'none' as const };

const computers = new Map<Mode, VirtualComputer>();
for (const mode of MODES) {
  const vc = await VirtualComputer.create({ workers: 1, sandbox: mode });
  await vc.spawn(island, { ...config, generations: 20 }).result;
  computers.set(mode, vc);
}
const times = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
let length: number | undefined;
try {
  for (let r = 0; r < ROTATIONS; r++) {
    for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
      const t0 = performance.now();
      const result = await computers.get(mode)!.spawn(island, config).result;
      const ms = performance.now() - t0;
      // The same seed and no migration: every run is the same computation, so every run must find the same tour.
      if (length !== undefined && result.bestLength !== length) throw new Error(`${mode}: best length ${result.bestLength}, other runs ${length}`);
      length = result.bestLength;
      times.get(mode)!.push(Number(ms.toFixed(1)));
      process.stderr.write(`sandbox ${mode}: ${GENERATIONS} generations of ${CITIES} cities in ${ms.toFixed(0)} ms\n`);
    }
  }
} finally {
  await Promise.all([...computers.values()].map((vc) => vc.close()));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = times.has('off') ? median(times.get('off')!) : undefined;
console.log(
  JSON.stringify(
    {
      bench: 'sandbox',
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
      params: { modes: MODES, rotations: ROTATIONS, cities: CITIES, generations: GENERATIONS },
      bestLength: length,
      modes: Object.fromEntries(
        MODES.map((m) => {
          const med = median(times.get(m)!);
          return [m, { islandMs: times.get(m), medianMs: med, ...(off !== undefined ? { vsOff: Number((med / off).toFixed(3)) } : {}) }];
        }),
      ),
      goal: { strictWithin: 1.05 },
    },
    null,
    2,
  ),
);
