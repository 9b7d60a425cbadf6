/**
 * The island model: each island is a virtual thread that evolves its own population and, every
 * few generations, exchanges good tours with the other islands. This is the thread code that
 * `ppp2p build` transforms; everything it calls is synchronous (genetic.ts and the helpers at the
 * end of this file), so only `island()` itself is rewritten and the generation loop's hot work runs
 * at native speed.
 *
 * ```ts
 * import { VirtualComputer } from 'ppp2p';
 * import { island } from './island.ts';           // the built copy, under a VirtualComputer
 * const instance = loadTsplib('samples/tsp/instances/berlin52.tsp');
 * const threads = Array.from({ length: 4 }, () =>
 *   vc.spawn(island, { instance, generations: 300, migration: 'ring', seed: 1 }));
 * ```
 *
 * Migration modes:
 * - `'none'`: islands evolve alone. Runs natively too (outside a virtual thread `checkpoint()` is a
 *   no-op and the island is island 0 of 1), which is how the tests and `solve-local.ts` use it.
 * - `'ring'`: every `migrationInterval` generations island i sends its best tours to island i+1
 *   and then waits for those of island i-1. Sends and receives pair up in a fixed order, so the
 *   result depends only on the seed, never on timing, peer speeds or failures.
 * - `'global'`: the paper's scheme. Islands merge their best tours into an elite pool held in a
 *   global variable (`globals.update`, atomic) and breed from what the pool holds. Which tours an
 *   island finds there depends on how far the other islands got, so runs are not reproducible.
 *
 * Everything `island()` keeps across `await checkpoint()` is plain data: the settings object, the
 * population (typed arrays) and the random generator's four words. The distance matrix and the
 * neighbour lists are derived from the instance and recomputed by a peer that resumes the thread.
 */
import { checkpoint, globals, thread } from 'ppp2p';
import type { TspInstance } from './tsplib.ts';
import {
  bestIndex,
  canonicalTour,
  createPopulation,
  evolveGeneration,
  isPermutation,
  makeProblem,
  member,
  offerTour,
  randomFrom,
  seedRandom,
  tourLength,
  type Population,
  type Problem,
  type Rand,
} from './genetic.ts';

export type Migration = 'none' | 'ring' | 'global';

/** What one island runs. Every field but `instance` and `generations` has a default. */
export interface IslandConfig {
  instance: TspInstance;
  /** Generations to evolve (one checkpoint opportunity each). */
  generations: number;
  /** @default 'none' */
  migration?: Migration;
  /**
   * Seed of this island's generator, mixed with the island's id. Without it the island seeds itself
   * from `thread.random()`, i.e. from the seed the virtual computer gave the thread.
   */
  seed?: number;
  /** @default 30 */
  populationSize?: number;
  /** Children per generation. @default populationSize / 2, rounded up */
  offspring?: number;
  /** @default 3 */
  tournamentSize?: number;
  /** Probability of a double-bridge mutation per child. @default 0.3 */
  mutationRate?: number;
  /** Or-opt moves in local search besides 2-opt. @default true */
  orOpt?: boolean;
  /** Generations between migrations. @default 10 */
  migrationInterval?: number;
  /** Tours sent (ring) or offered to and taken from the elite pool (global) per migration. @default 2 */
  migrants?: number;
  /** Capacity of the global elite pool. @default 8 */
  eliteSize?: number;
  /** Name of the global variable holding the elite pool. @default 'elite' */
  eliteKey?: string;
  /** Generations between `thread.progress` reports (the last generation always reports). @default 10 */
  progressEvery?: number;
}

/** The settings an island runs with: the config with every default filled in. */
export type IslandSettings = Required<Omit<IslandConfig, 'instance' | 'seed'>>;

/** What `thread.progress` reports. */
export interface IslandProgress {
  island: number;
  generation: number;
  bestLength: number;
  migrations: number;
}

export interface IslandResult {
  island: number;
  bestLength: number;
  /** The best tour found, 0-based cities, starting at city 0. */
  tour: number[];
  generations: number;
  migrations: number;
}

/** A tour travelling between islands, in a message or in the elite pool. */
export interface Migrant {
  length: number;
  tour: number[];
}

/** One island of the genetic algorithm. See the module comment. */
export async function island(cfg: IslandConfig): Promise<IslandResult> {
  const settings = resolveSettings(cfg);
  const id = thread.id;
  const count = thread.count;
  const rng = cfg.seed === undefined ? seedFromThread() : seedRandom(cfg.seed, id);
  const pop = createPopulation(problemOf(cfg.instance), settings.populationSize, randomFrom(rng), settings.orOpt);
  let migrations = 0;
  for (let generation = 1; generation <= settings.generations; generation++) {
    evolveGeneration(problemOf(cfg.instance), pop, settings, randomFrom(rng));
    if (migrationDue(settings, generation)) {
      if (settings.migration === 'ring') {
        await thread.send((id + 1) % count, emigrants(pop, settings.migrants));
        const message = await thread.receive({ from: (id - 1 + count) % count });
        immigrate(problemOf(cfg.instance), pop, message.value, `island ${message.from}`);
      } else {
        const offer = emigrants(pop, settings.migrants);
        const pool = await globals.update<Migrant[]>(settings.eliteKey, (current) =>
          mergeElite(current, offer, settings.eliteSize),
        );
        immigrate(problemOf(cfg.instance), pop, pickMigrants(pool, settings.migrants, randomFrom(rng)), `global '${settings.eliteKey}'`);
      }
      migrations++;
    }
    if (generation % settings.progressEvery === 0 || generation === settings.generations) {
      thread.progress(progressOf(id, generation, pop, migrations));
    }
    await checkpoint();
  }
  return resultOf(id, pop, settings.generations, migrations);
}

// ---------------------------------------------------------------------------------------------
// Synchronous helpers (left as they are by `ppp2p build`).

const problems = new WeakMap<TspInstance, Problem>();

/** Distance matrix and neighbour lists of an instance, built once per instance object. */
export function problemOf(instance: TspInstance): Problem {
  let p = problems.get(instance);
  if (p === undefined) {
    p = makeProblem(instance.x, instance.y);
    problems.set(instance, p);
  }
  return p;
}

/** Fills in defaults and checks every field; errors name the field and what it must be. */
export function resolveSettings(cfg: IslandConfig): IslandSettings {
  const inst = cfg.instance as Partial<TspInstance> | undefined;
  if (
    inst === undefined ||
    typeof inst.dimension !== 'number' ||
    !Number.isInteger(inst.dimension) ||
    inst.dimension < 5 ||
    inst.x?.length !== inst.dimension ||
    inst.y?.length !== inst.dimension
  ) {
    throw new TypeError('cfg.instance must be a TspInstance of at least 5 cities (from loadTsplib or parseTsplib)');
  }
  const populationSize = cfg.populationSize ?? 30;
  const settings: IslandSettings = {
    generations: cfg.generations,
    migration: cfg.migration ?? 'none',
    populationSize,
    offspring: cfg.offspring ?? Math.ceil(populationSize / 2),
    tournamentSize: cfg.tournamentSize ?? 3,
    mutationRate: cfg.mutationRate ?? 0.3,
    orOpt: cfg.orOpt ?? true,
    migrationInterval: cfg.migrationInterval ?? 10,
    migrants: cfg.migrants ?? 2,
    eliteSize: cfg.eliteSize ?? 8,
    eliteKey: cfg.eliteKey ?? 'elite',
    progressEvery: cfg.progressEvery ?? 10,
  };
  integer('generations', settings.generations, 0);
  if (!['none', 'ring', 'global'].includes(settings.migration)) {
    throw new RangeError(`cfg.migration must be 'none', 'ring' or 'global', found ${JSON.stringify(settings.migration)}`);
  }
  if (cfg.seed !== undefined) integer('seed', cfg.seed, -(2 ** 31));
  integer('populationSize', populationSize, 2);
  integer('offspring', settings.offspring, 1);
  integer('tournamentSize', settings.tournamentSize, 1);
  if (!(settings.mutationRate >= 0 && settings.mutationRate <= 1)) {
    throw new RangeError(`cfg.mutationRate must be a number in [0, 1], found ${settings.mutationRate}`);
  }
  integer('migrationInterval', settings.migrationInterval, 1);
  integer('migrants', settings.migrants, 1);
  if (settings.migrants >= populationSize) {
    throw new RangeError(`cfg.migrants must be less than cfg.populationSize (${populationSize}), found ${settings.migrants}`);
  }
  integer('eliteSize', settings.eliteSize, 1);
  integer('progressEvery', settings.progressEvery, 1);
  return settings;
}

function integer(field: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2 ** 32) {
    throw new RangeError(`cfg.${field} must be an integer >= ${min}, found ${String(value)}`);
  }
}

/** A generator state seeded from the thread's own stream (the virtual computer's seed). */
function seedFromThread(): Uint32Array {
  return seedRandom(Math.floor(thread.random() * 2 ** 32), Math.floor(thread.random() * 2 ** 32));
}

/** Whether this generation exchanges tours. Never on the last one, so that every send has its receive. */
export function migrationDue(settings: IslandSettings, generation: number): boolean {
  return (
    settings.migration !== 'none' &&
    generation % settings.migrationInterval === 0 &&
    generation < settings.generations
  );
}

/** The `count` best distinct tours of the population, shortest first, as plain data. */
export function emigrants(pop: Population, count: number): Migrant[] {
  const order = Array.from(pop.lengths.keys()).sort((a, b) => pop.lengths[a]! - pop.lengths[b]! || a - b);
  const out: Migrant[] = [];
  for (const i of order) {
    if (out.length === count) break;
    const length = pop.lengths[i]!;
    if (out.length > 0 && out[out.length - 1]!.length === length) continue;
    out.push({ length, tour: Array.from(member(pop, i)) });
  }
  return out;
}

/**
 * Offers received tours to the population. They come from another thread, so each is checked (a
 * permutation of this instance's cities) and its length recomputed rather than trusted.
 * Returns how many were taken.
 */
export function immigrate(p: Problem, pop: Population, value: unknown, source: string): number {
  if (!Array.isArray(value)) throw new TypeError(`Migrants from ${source} must be an array of tours, found ${typeof value}`);
  let taken = 0;
  for (const [k, m] of (value as unknown[]).entries()) {
    const tour = (m as Partial<Migrant> | null)?.tour;
    if (!Array.isArray(tour) || !isPermutation(tour, p.n)) {
      throw new TypeError(`Migrant ${k} from ${source} is not a tour of this instance's ${p.n} cities`);
    }
    const cities = Int32Array.from(tour);
    if (offerTour(pop, cities, tourLength(p, cities))) taken++;
  }
  return taken;
}

/** The elite pool after merging `offer`: shortest first, one tour per length, at most `capacity`. */
export function mergeElite(current: Migrant[] | undefined, offer: Migrant[], capacity: number): Migrant[] {
  const merged = [...(current ?? []), ...offer].sort((a, b) => a.length - b.length);
  const out: Migrant[] = [];
  for (const m of merged) {
    if (out.length === capacity) break;
    if (out.length > 0 && out[out.length - 1]!.length === m.length) continue;
    out.push(m);
  }
  return out;
}

/** `count` distinct random members of the pool (all of them if it is that small). */
export function pickMigrants(pool: Migrant[], count: number, rand: Rand): Migrant[] {
  const rest = pool.slice();
  const out: Migrant[] = [];
  while (out.length < count && rest.length > 0) {
    const i = Math.floor(rand() * rest.length);
    out.push(rest[i]!);
    rest.splice(i, 1);
  }
  return out;
}

function progressOf(id: number, generation: number, pop: Population, migrations: number): IslandProgress {
  return { island: id, generation, bestLength: pop.lengths[bestIndex(pop)]!, migrations };
}

function resultOf(id: number, pop: Population, generations: number, migrations: number): IslandResult {
  const best = bestIndex(pop);
  return {
    island: id,
    bestLength: pop.lengths[best]!,
    tour: Array.from(canonicalTour(member(pop, best))),
    generations,
    migrations,
  };
}
