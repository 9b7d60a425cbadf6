import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { euc2d, loadTsplib, type TspInstance } from '../../samples/tsp/tsplib.ts';
import { island, type IslandConfig, type IslandProgress, type IslandResult, type Migrant } from '../../samples/tsp/island.ts';
import { isPermutation } from '../../samples/tsp/genetic.ts';
import { runSwarm } from './local-swarm.ts';

// Islands as cooperative threads in this process (see local-swarm.ts): messages and globals
// behave as on a virtual computer, and the interleaving is chosen by a seed.
const berlin52 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/berlin52.tsp', import.meta.url)));

function lengthOf(instance: TspInstance, tour: number[]): number {
  let sum = 0;
  for (let i = 0; i < tour.length; i++) sum += euc2d(instance, tour[i]!, tour[(i + 1) % tour.length]!);
  return sum;
}

// Small populations and no mutation so that the islands need their neighbours to make progress.
const base: Omit<IslandConfig, 'seed'> = {
  instance: berlin52,
  generations: 12,
  populationSize: 6,
  offspring: 2,
  mutationRate: 0,
  migrationInterval: 3,
  progressEvery: 3,
};

const kroA100 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/kroA100.tsp', import.meta.url)));
const tight: Omit<IslandConfig, 'seed'> = {
  instance: kroA100,
  generations: 6,
  populationSize: 4,
  offspring: 1,
  mutationRate: 0,
  migrationInterval: 1,
};

describe('ring migration', () => {
  const cfgs = [0, 1, 2].map((): IslandConfig => ({ ...base, migration: 'ring', seed: 5 }));

  it('gives the same results under different interleavings of the islands', async () => {
    const a = await runSwarm(island, cfgs, { schedule: 1 });
    const b = await runSwarm(island, cfgs, { schedule: 987654 });
    expect(b.results).toEqual(a.results);
    expect(a.results.map((r) => r.island)).toEqual([0, 1, 2]);
  });

  it('stays deterministic where global migration does not (a harder instance, migration every generation)', async () => {
    const outcomes = async (migration: 'ring' | 'global'): Promise<Set<string>> => {
      const hard = [0, 1, 2, 3].map((): IslandConfig => ({ ...tight, migration, seed: 9 }));
      const seen = new Set<string>();
      for (let schedule = 1; schedule <= 8; schedule++) {
        seen.add(JSON.stringify((await runSwarm(island, hard, { schedule })).results));
      }
      return seen;
    };
    expect((await outcomes('ring')).size).toBe(1);
    // The check above means something only if the schedules really differ: with a global pool they show.
    expect((await outcomes('global')).size).toBeGreaterThan(1);
  });

  it('migrates every interval but the last generation, and every message is received', async () => {
    const run = await runSwarm(island, cfgs, { schedule: 3 });
    // Generations 3, 6 and 9 (12 is the last).
    expect(run.results.map((r) => r.migrations)).toEqual([3, 3, 3]);
    expect(run.undelivered).toBe(0);
    for (const r of run.results) {
      expect(isPermutation(r.tour, 52)).toBe(true);
      expect(lengthOf(berlin52, r.tour)).toBe(r.bestLength);
    }
  });

  it('reports progress every few generations, with the migrations so far', async () => {
    const run = await runSwarm(island, cfgs, { schedule: 4 });
    const ofIsland1 = run.progress.filter((p) => p.thread === 1).map((p) => p.value as IslandProgress);
    expect(ofIsland1.map((p) => [p.generation, p.migrations])).toEqual([[3, 1], [6, 2], [9, 3], [12, 3]]);
    expect(ofIsland1.every((p) => p.island === 1)).toBe(true);
    // The best length never gets worse.
    const lengths = ofIsland1.map((p) => p.bestLength);
    expect([...lengths].sort((x, y) => y - x)).toEqual(lengths);
  });

  it('spreads good tours: with a ring, an island ends no worse than it would alone', async () => {
    const ring = await runSwarm(island, cfgs, { schedule: 6 });
    const alone = await runSwarm(island, cfgs.map((c) => ({ ...c, migration: 'none' as const })), { schedule: 6 });
    const sum = (rs: IslandResult[]): number => rs.reduce((s, r) => s + r.bestLength, 0);
    expect(sum(ring.results)).toBeLessThanOrEqual(sum(alone.results));
  });
});

describe('global migration', () => {
  it('islands share an elite pool in a global variable and breed from it', async () => {
    const cfgs = [0, 1, 2].map((): IslandConfig => ({ ...base, migration: 'global', seed: 9, eliteSize: 4, eliteKey: 'pool' }));
    const run = await runSwarm(island, cfgs, { schedule: 2 });
    const pool = run.globals.get('pool') as Migrant[];
    expect(pool.length).toBeGreaterThan(0);
    expect(pool.length).toBeLessThanOrEqual(4);
    expect(pool.map((m) => m.length)).toEqual([...pool.map((m) => m.length)].sort((x, y) => x - y));
    for (const m of pool) expect(lengthOf(berlin52, m.tour)).toBe(m.length);
    expect(run.results.map((r) => r.migrations)).toEqual([3, 3, 3]);
    // Every pool entry was some island's best when offered, and an island's best never gets worse.
    expect(Math.min(...run.results.map((r) => r.bestLength))).toBeLessThanOrEqual(pool[0]!.length);
  });
});
