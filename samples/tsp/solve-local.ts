/**
 * Runs one island natively (no virtual computer, no build step) and prints one JSON line:
 * `{ instance, bestLength, optimum, gap, seconds, generations, seed }`. The quickest way to see what the
 * genetic algorithm reaches on this machine, and the baseline the distributed runs are compared to.
 *
 * ```sh
 * npx tsx --conditions=ppp2p-source samples/tsp/solve-local.ts --instance samples/tsp/instances/berlin52.tsp --generations 200 --seed 1
 * ```
 *
 * Options: `--instance FILE` (required), `--generations G` (default 200), `--seed S` (default 1),
 * `--population P`, `--optimum X` (known for eil51, berlin52 and kroA100), `--no-or-opt`.
 * Bad options or a malformed file: one line on stderr and exit code 1.
 */
import { parseArgs } from 'node:util';
import { loadTsplib } from './tsplib.ts';
import { island } from './island.ts';
import { KNOWN_OPTIMA } from './optima.ts';


function usage(message: string): never {
  process.stderr.write(
    `solve-local: ${message}\nusage: solve-local.ts --instance FILE [--generations G] [--seed S] [--population P] [--optimum X] [--no-or-opt]\n`,
  );
  process.exit(1);
}

function integerOption(name: string, text: string): number {
  if (!/^-?\d+$/.test(text)) usage(`--${name} must be an integer, found "${text}"`);
  return Number(text);
}

let parsed;
try {
  parsed = parseArgs({
  options: {
    instance: { type: 'string' },
    generations: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    population: { type: 'string' },
    optimum: { type: 'string' },
    'no-or-opt': { type: 'boolean', default: false },
  },
    strict: true,
  });
} catch (err) {
  usage((err as Error).message);
}
const { values } = parsed;
if (values.instance === undefined) usage('--instance is required');
const generations = integerOption('generations', values.generations);
const seed = integerOption('seed', values.seed);

let instance;
let result;
const started = performance.now();
try {
  instance = loadTsplib(values.instance);
  result = await island({
    instance,
    generations,
    seed,
    ...(values.population !== undefined ? { populationSize: integerOption('population', values.population) } : {}),
    orOpt: !values['no-or-opt'],
  });
} catch (err) {
  process.stderr.write(`solve-local: ${(err as Error).message}\n`);
  process.exit(1);
}
const optimum = values.optimum !== undefined ? integerOption('optimum', values.optimum) : KNOWN_OPTIMA[instance.name];
const seconds = (performance.now() - started) / 1000;
const gap = optimum === undefined ? null : Number(((result.bestLength - optimum) / optimum * 100).toFixed(3));
process.stdout.write(
  `${JSON.stringify({
    instance: instance.name,
    bestLength: result.bestLength,
    optimum: optimum ?? null,
    gap,
    seconds: Number(seconds.toFixed(3)),
    generations: result.generations,
    seed,
  })}\n`,
);
