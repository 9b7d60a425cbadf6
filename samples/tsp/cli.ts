/**
 * `npm run tsp -- --instance FILE --islands N --generations G --seed S --migration ring|global
 *   [--peers P | --controller ws://... --swarm-key-file F] [--optimum X] [--json]`
 *
 * Builds the island code with `ppp2p build`, starts a virtual computer (an embedded local swarm of
 * P peers unless a controller is given), spawns one island per virtual thread and shows a live
 * progress line. With --json it prints one line:
 * `{ "instance", "bestLength", "tour", "seconds", "generations", "islands", "peers" }`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, positiveInt } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { VirtualComputer, type VirtualThread } from '../../src/client/index.ts';
import { loadTsplib, type TspInstance } from './tsplib.ts';
import { loadBuiltIsland } from './built-island.ts';
import { KNOWN_OPTIMA } from './optima.ts';
import { ProgressLine } from './progress-line.ts';
import type { IslandConfig, IslandProgress, IslandResult, Migration } from './island.ts';

const usage =
  'npm run tsp -- --instance FILE [--islands N] [--generations G] [--seed S] [--migration ring|global|none] ' +
  '[--peers P | --controller ws://host:port --swarm-key-file F] [--population P] [--optimum X] [--json]';

export interface TspRunOptions {
  instance: TspInstance;
  islands: number;
  generations: number;
  seed: number;
  migration: Migration;
  peers: number;
  /** Embedded swarm only: threads each peer runs at once. @default 1 */
  slotsPerWorker?: number;
  controller?: string;
  swarmKey?: string;
  populationSize?: number;
  optimum?: number;
  /** Called with each progress event and the island it came from. */
  onProgress?(p: IslandProgress): void;
  onMigrated?(info: { island: number; from: string; to: string; reason: string }): void;
  /** Called once the virtual computer has its workers and the islands are spawned. */
  onStarted?(vc: VirtualComputer, threads: readonly VirtualThread<IslandResult>[]): void;
}

export interface TspRunResult {
  instance: string;
  bestLength: number;
  tour: number[];
  seconds: number;
  generations: number;
  islands: number;
  peers: number;
}

/** Solves an instance on a virtual computer: the sample's whole job, used by the CLI, the demo and the bench. */
export async function solveOnVirtualComputer(o: TspRunOptions): Promise<TspRunResult> {
  const island = await loadBuiltIsland();
  const vc = await VirtualComputer.create(
    o.controller !== undefined
      ? { workers: o.peers, controller: o.controller, swarmKey: o.swarmKey }
      : { workers: o.peers, slotsPerWorker: o.slotsPerWorker ?? (o.migration === 'ring' ? Math.ceil(o.islands / o.peers) : 1) },
  );
  try {
    // Ring islands wait for their neighbours' messages, so all of them must run at once: an island left
    // queued behind a full swarm would stop the ring for good.
    const slots = vc.workers.reduce((n, w) => n + w.slots, 0);
    if (o.migration === 'ring' && slots < o.islands) {
      throw new RangeError(
        `--migration ring needs all ${o.islands} islands running at once, but the ${vc.workers.length} enrolled peer(s) have ` +
          `${slots} slot(s) in all: use fewer islands, more peers or slots, or --migration global`,
      );
    }
    const started = performance.now();
    const threads = Array.from({ length: o.islands }, () => {
      const cfg: IslandConfig = { instance: o.instance, generations: o.generations, migration: o.migration, seed: o.seed };
      if (o.populationSize !== undefined) cfg.populationSize = o.populationSize;
      return vc.spawn(island, cfg);
    });
    o.onStarted?.(vc, threads);
    threads.forEach((t, i) => {
      t.on('progress', (p) => o.onProgress?.(p as IslandProgress));
      t.on('migrated' as never, ((m: { from: string; to: string; reason: string }) => o.onMigrated?.({ island: i, ...m })) as never);
    });
    const results: IslandResult[] = await Promise.all(threads.map((t) => t.result));
    const best = results.reduce((a, b) => (b.bestLength < a.bestLength ? b : a));
    return {
      instance: o.instance.name,
      bestLength: best.bestLength,
      tour: Array.from(best.tour),
      seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
      generations: o.generations,
      islands: o.islands,
      peers: vc.workers.length,
    };
  } finally {
    await vc.close();
  }
}

function parseCli(argv: string[]): TspRunOptions & { json: boolean } {
  const { positionals, flags } = parseArgs(
    argv,
    {
      instance: 'string',
      islands: 'string',
      generations: 'string',
      seed: 'string',
      migration: 'string',
      peers: 'string',
      controller: 'string',
      'swarm-key-file': 'string',
      population: 'string',
      optimum: 'string',
      json: 'boolean',
    },
    usage,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${usage}`);
  if (typeof flags.instance !== 'string') throw new UsageError(`--instance FILE is required (try samples/tsp/instances/berlin52.tsp)\nusage: ${usage}`);
  const migration = (flags.migration ?? 'ring') as string;
  if (migration !== 'ring' && migration !== 'global' && migration !== 'none') {
    throw new UsageError(`--migration must be ring, global or none, got '${migration}'\nusage: ${usage}`);
  }
  const controller = typeof flags.controller === 'string' ? flags.controller : undefined;
  const keyFile = flags['swarm-key-file'];
  if (controller !== undefined && typeof keyFile !== 'string') {
    throw new UsageError(`--controller needs --swarm-key-file (the key the swarm was started with)\nusage: ${usage}`);
  }
  if (controller !== undefined && flags.peers !== undefined) {
    throw new UsageError(`--peers starts an embedded swarm; with --controller the swarm is already running: give one of them\nusage: ${usage}`);
  }
  const seed = flags.seed === undefined ? 1 : Number(flags.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${String(flags.seed)}'\nusage: ${usage}`);
  const instance = loadTsplib(flags.instance);
  return {
    instance,
    islands: positiveInt(flags, 'islands', usage) ?? 2,
    generations: positiveInt(flags, 'generations', usage) ?? 200,
    seed,
    migration,
    peers: positiveInt(flags, 'peers', usage) ?? 2,
    controller,
    swarmKey: typeof keyFile === 'string' ? readFileSync(keyFile, 'utf8').trim() : undefined,
    populationSize: positiveInt(flags, 'population', usage),
    optimum: positiveInt(flags, 'optimum', usage) ?? KNOWN_OPTIMA[instance.name],
    json: flags.json === true,
  };
}

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseCli(argv);
  } catch (err) {
    process.stderr.write(`tsp: ${(err as Error).message}\n`);
    return 2;
  }
  const line = new ProgressLine(opts, process.stderr);
  const result = await solveOnVirtualComputer({
    ...opts,
    onStarted: (vc) => line.started(vc.workers.length),
    onProgress: (p) => line.progress(p),
    onMigrated: (m) => line.migrated(m),
  });
  line.finish();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const gap = opts.optimum === undefined ? '' : ` (gap ${(((result.bestLength - opts.optimum) / opts.optimum) * 100).toFixed(2)}% to the optimum ${opts.optimum})`;
    process.stdout.write(
      `${result.instance}: best tour length ${result.bestLength}${gap} after ${result.generations} generations on ` +
        `${result.islands} islands and ${result.peers} peers in ${result.seconds} s\n`,
    );
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`tsp: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  });
}
