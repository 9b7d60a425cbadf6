import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { NotInThreadError } from 'ppp2p';
import { euc2d, loadTsplib, type TspInstance } from '../../samples/tsp/tsplib.ts';
import { island, mergeElite, type IslandConfig } from '../../samples/tsp/island.ts';
import { isPermutation } from '../../samples/tsp/genetic.ts';

const eil51 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/eil51.tsp', import.meta.url)));

function lengthOf(instance: TspInstance, tour: number[]): number {
  let sum = 0;
  for (let i = 0; i < tour.length; i++) sum += euc2d(instance, tour[i]!, tour[(i + 1) % tour.length]!);
  return sum;
}

describe('island() run natively (migration none)', () => {
  const cfg: IslandConfig = { instance: eil51, generations: 15, migration: 'none', seed: 7 };

  it('gives the same result twice for one seed', async () => {
    const a = await island(cfg);
    const b = await island(cfg);
    expect(b).toEqual(a);
  });

  it('returns a valid tour from city 0 whose length is the reported best', async () => {
    const r = await island(cfg);
    expect(isPermutation(r.tour, 51)).toBe(true);
    expect(r.tour[0]).toBe(0);
    expect(lengthOf(eil51, r.tour)).toBe(r.bestLength);
    expect(r).toMatchObject({ island: 0, generations: 15, migrations: 0 });
  });

  it('improves far beyond a random tour and gets within 3% of the optimum (426) in a few generations', async () => {
    const random = lengthOf(eil51, Array.from({ length: 51 }, (_, i) => (i * 7) % 51));
    const r = await island({ ...cfg, generations: 5 });
    expect(r.bestLength).toBeLessThan(random / 2);
    expect(r.bestLength).toBeLessThanOrEqual(426 * 1.03);
  });

  it('seeds itself from thread.random() when no seed is given', async () => {
    const r = await island({ instance: eil51, generations: 2 });
    expect(isPermutation(r.tour, 51)).toBe(true);
  });

  it('needs a virtual thread for ring and global migration', async () => {
    await expect(island({ ...cfg, migration: 'ring', migrationInterval: 1 })).rejects.toThrow(NotInThreadError);
    await expect(island({ ...cfg, migration: 'global', migrationInterval: 1 })).rejects.toThrow(NotInThreadError);
  });

  it('rejects a bad config with the field and what it must be', async () => {
    await expect(island({ ...cfg, generations: -1 })).rejects.toThrow('cfg.generations must be an integer >= 0, found -1');
    await expect(island({ ...cfg, populationSize: 1 })).rejects.toThrow('cfg.populationSize must be an integer >= 2, found 1');
    await expect(island({ ...cfg, migrants: 30 })).rejects.toThrow('cfg.migrants must be less than cfg.populationSize (30), found 30');
    await expect(island({ ...cfg, mutationRate: 2 })).rejects.toThrow('cfg.mutationRate must be a number in [0, 1], found 2');
    await expect(island({ ...cfg, migration: 'star' as 'ring' })).rejects.toThrow(`cfg.migration must be 'none', 'ring' or 'global', found "star"`);
    await expect(island({ ...cfg, instance: {} as TspInstance })).rejects.toThrow(/cfg\.instance must be a TspInstance/);
  });
});

describe('the elite pool', () => {
  it('keeps the shortest tours, one per length, up to its capacity', () => {
    const t = (length: number) => ({ length, tour: [length] });
    expect(mergeElite(undefined, [t(5), t(3)], 3)).toEqual([t(3), t(5)]);
    expect(mergeElite([t(3), t(5), t(9)], [t(4), t(5), t(1)], 3)).toEqual([t(1), t(3), t(4)]);
  });
});
