import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { euc2d, loadTsplib, parseTsplib } from '../../samples/tsp/tsplib.ts';
import {
  canonicalTour,
  createPopulation,
  doubleBridge,
  evolveGeneration,
  invertSegment,
  isPermutation,
  localSearch,
  makeProblem,
  offerTour,
  orderCrossover,
  randomFrom,
  randomTour,
  seedRandom,
  swapCities,
  tournament,
  tourLength,
  type Problem,
} from '../../samples/tsp/genetic.ts';

/** A 3 x 4 rectangle: the identity tour walks its perimeter, 3 + 4 + 3 + 4 = 14. */
const RECTANGLE = [
  'NAME: rectangle',
  'TYPE: TSP',
  'DIMENSION: 4',
  'EDGE_WEIGHT_TYPE: EUC_2D',
  'NODE_COORD_SECTION',
  '1 0 0',
  '2 3 0',
  '3 3 4',
  '4 0 4',
  'EOF',
].join('\n');

function rectangle(): Problem {
  const r = parseTsplib(RECTANGLE);
  return makeProblem(r.x, r.y, 3);
}

/** A random Euclidean instance with integer coordinates, from a fast-check seed. */
function randomProblem(n: number, seed: number, k = 8): Problem {
  const rand = randomFrom(seedRandom(seed));
  const xs = Array.from({ length: n }, () => Math.floor(rand() * 1000));
  const ys = Array.from({ length: n }, () => Math.floor(rand() * 1000));
  return makeProblem(xs, ys, k);
}

const sizeAndSeed = fc.record({ n: fc.integer({ min: 5, max: 80 }), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }) });

describe('tours', () => {
  it('the identity tour of a 3 x 4 rectangle has length 14, a crossing tour 18', () => {
    const p = rectangle();
    expect(tourLength(p, Int32Array.from([0, 1, 2, 3]))).toBe(14);
    expect(tourLength(p, Int32Array.from([0, 2, 1, 3]))).toBe(18);
  });

  it('neighbour lists hold the nearest cities, nearest first', () => {
    const p = rectangle();
    // From city 0 (0,0): city 1 at 3, city 3 at 4, city 2 at 5.
    expect(Array.from(p.neighbours.subarray(0, 3))).toEqual([1, 3, 2]);
  });

  it('the distance matrix holds TSPLIB rounded distances', () => {
    const berlin52 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/berlin52.tsp', import.meta.url)));
    const p = makeProblem(berlin52.x, berlin52.y);
    for (let i = 0; i < 52; i++) for (let j = 0; j < 52; j++) expect(p.dist[i * 52 + j]).toBe(euc2d(berlin52, i, j));
    expect(() => makeProblem([1, 2, 3], [1, 2])).toThrow(/one coordinate per city/);
  });

  it('keeps distances in two bytes while they all fit, in four once one may not, never wrapping', () => {
    // 65,535 apart at most: two bytes, and the largest distance is stored exactly.
    const fits = makeProblem([0, 65_535, 10, 20, 30], [0, 0, 5, 5, 5]);
    expect(fits.dist).toBeInstanceOf(Uint16Array);
    expect(fits.dist[1]).toBe(65_535);
    // One unit more: four bytes.
    const wide = makeProblem([0, 65_536, 10, 20, 30], [0, 0, 5, 5, 5]);
    expect(wide.dist).toBeInstanceOf(Int32Array);
    expect(wide.dist[1]).toBe(65_536);
    // berlin52 scaled up 100 times: distances up to ~175,000, each the rounded Euclidean one.
    const berlin52 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/berlin52.tsp', import.meta.url)));
    const x = berlin52.x.map((v) => v * 100), y = berlin52.y.map((v) => v * 100);
    const big = makeProblem(x, y);
    expect(big.dist).toBeInstanceOf(Int32Array);
    for (let i = 0; i < 52; i++) for (let j = 0; j < 52; j++) expect(big.dist[i * 52 + j]).toBe(Math.floor(Math.hypot(x[i]! - x[j]!, y[i]! - y[j]!) + 0.5));
    expect(Math.max(...big.dist)).toBeGreaterThan(65_535);
  });

  it('neighbour lists are the k nearest by (distance, index), as a full sort gives them', () => {
    fc.assert(
      fc.property(sizeAndSeed, fc.integer({ min: 1, max: 12 }), ({ n, seed }, k) => {
        const rand = randomFrom(seedRandom(seed));
        // Few distinct coordinates: many ties.
        const xs = Array.from({ length: n }, () => Math.floor(rand() * 20));
        const ys = Array.from({ length: n }, () => Math.floor(rand() * 20));
        const p = makeProblem(xs, ys, k);
        const kk = Math.min(k, n - 1);
        for (let i = 0; i < n; i++) {
          const d = (j: number): number => Math.round(Math.sqrt((xs[i]! - xs[j]!) ** 2 + (ys[i]! - ys[j]!) ** 2));
          const sorted = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => d(a) - d(b) || a - b).slice(0, kk);
          expect(Array.from(p.neighbours.subarray(i * kk, (i + 1) * kk))).toEqual(sorted);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('isPermutation accepts permutations only', () => {
    expect(isPermutation([2, 0, 1], 3)).toBe(true);
    expect(isPermutation([2, 0, 0], 3)).toBe(false);
    expect(isPermutation([2, 0, 3], 3)).toBe(false);
    expect(isPermutation([0, 1], 3)).toBe(false);
    expect(isPermutation([0, 1.5, 2], 3)).toBe(false);
  });

  it('canonicalTour starts at city 0 and goes towards its smaller neighbour', () => {
    expect(Array.from(canonicalTour(Int32Array.from([3, 4, 0, 2, 1])))).toEqual([0, 2, 1, 3, 4]);
    expect(Array.from(canonicalTour(Int32Array.from([4, 3, 1, 2, 0])))).toEqual([0, 2, 1, 3, 4]);
  });
});

describe('random numbers', () => {
  it('a seed and a stream give one sequence in [0, 1); another stream gives another', () => {
    const a = randomFrom(seedRandom(42, 0));
    const b = randomFrom(seedRandom(42, 0));
    const c = randomFrom(seedRandom(42, 1));
    const xs = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(xs);
    expect(Array.from({ length: 100 }, c)).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('variation operators', () => {
  it('order crossover always yields a permutation that keeps a slice of the first parent', () => {
    fc.assert(
      fc.property(sizeAndSeed, ({ n, seed }) => {
        const rand = randomFrom(seedRandom(seed));
        const p1 = randomTour(n, rand);
        const p2 = randomTour(n, rand);
        const child = new Int32Array(n).fill(-1);
        orderCrossover(p1, p2, child, rand);
        expect(isPermutation(child, n)).toBe(true);
        expect(child.some((c, i) => c === p1[i])).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('order crossover of a tour with itself gives the same tour', () => {
    const rand = randomFrom(seedRandom(3));
    const p = randomTour(20, rand);
    const child = new Int32Array(20);
    orderCrossover(p, p, child, rand);
    expect(child).toEqual(p);
  });

  it('mutations keep a permutation', () => {
    fc.assert(
      fc.property(sizeAndSeed, ({ n, seed }) => {
        const rand = randomFrom(seedRandom(seed));
        const tour = randomTour(n, rand);
        doubleBridge(tour, rand);
        expect(isPermutation(tour, n)).toBe(true);
        invertSegment(tour, rand);
        expect(isPermutation(tour, n)).toBe(true);
        swapCities(tour, rand);
        expect(isPermutation(tour, n)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('double bridge changes a tour of 8 or more cities', () => {
    const rand = randomFrom(seedRandom(9));
    for (let r = 0; r < 50; r++) {
      const tour = randomTour(8, rand);
      const before = canonicalTour(tour);
      doubleBridge(tour, rand);
      expect(canonicalTour(tour)).not.toEqual(before);
    }
  });

  it('a tournament as large as the population almost always picks the best member', () => {
    const lengths = Float64Array.from([50, 20, 30, 10, 40]);
    const rand = randomFrom(seedRandom(1));
    const wins = Array.from({ length: 100 }, () => tournament(lengths, 5, 25, rand)).filter((i) => i === 3).length;
    expect(wins).toBeGreaterThan(95);
  });
});

describe('local search', () => {
  it('2-opt never makes a tour longer and keeps it a permutation', () => {
    fc.assert(
      fc.property(sizeAndSeed, fc.boolean(), ({ n, seed }, orOpt) => {
        const p = randomProblem(n, seed);
        const tour = randomTour(n, randomFrom(seedRandom(seed, 1)));
        const before = tourLength(p, tour);
        const after = localSearch(p, tour, { orOpt });
        expect(isPermutation(tour, n)).toBe(true);
        expect(after).toBe(tourLength(p, tour));
        expect(after).toBeLessThanOrEqual(before);
        // A local optimum stays where it is.
        expect(localSearch(p, tour, { orOpt })).toBe(after);
      }),
      { numRuns: 150 },
    );
  });

  it('2-opt uncrosses the crossing tour of the rectangle', () => {
    const tour = Int32Array.from([0, 2, 1, 3]);
    expect(localSearch(rectangle(), tour, { orOpt: false })).toBe(14);
  });

  it('Or-opt finds moves that 2-opt alone misses', () => {
    const p = randomProblem(100, 11, 10);
    let twoOpt = 0;
    let both = 0;
    for (let s = 0; s < 10; s++) {
      const tour = randomTour(100, randomFrom(seedRandom(s)));
      twoOpt += localSearch(p, tour.slice(), { orOpt: false });
      both += localSearch(p, tour, { orOpt: true });
    }
    expect(both).toBeLessThan(twoOpt);
  });
});

describe('populations', () => {
  it('offerTour replaces the worst member with a shorter tour and refuses duplicates', () => {
    const p = randomProblem(10, 5);
    const pop = createPopulation(p, 4, randomFrom(seedRandom(1)));
    pop.lengths.set([100, 200, 300, 250]);
    const tour = Int32Array.from({ length: 10 }, (_, i) => i);
    expect(offerTour(pop, tour, 300)).toBe(false);
    expect(offerTour(pop, tour, 200)).toBe(false);
    expect(offerTour(pop, tour, 150)).toBe(true);
    expect(Array.from(pop.lengths)).toEqual([100, 200, 150, 250]);
    expect(Array.from(pop.tours.subarray(20, 30))).toEqual(Array.from(tour));
  });

  it('a generation keeps every member a valid tour of its recorded length and never loses the best', () => {
    const p = randomProblem(40, 8);
    const rand = randomFrom(seedRandom(2));
    const pop = createPopulation(p, 10, rand);
    let best = Math.min(...pop.lengths);
    for (let g = 0; g < 20; g++) {
      evolveGeneration(p, pop, { offspring: 5, tournamentSize: 3, mutationRate: 0.3, orOpt: true }, rand);
      for (let i = 0; i < pop.size; i++) {
        const tour = pop.tours.subarray(i * 40, (i + 1) * 40);
        expect(isPermutation(tour, 40)).toBe(true);
        expect(tourLength(p, tour)).toBe(pop.lengths[i]);
      }
      const now = Math.min(...pop.lengths);
      expect(now).toBeLessThanOrEqual(best);
      best = now;
    }
  });
});
