/**
 * Genetic operators for the travelling-salesman problem: plain, synchronous and allocation-free in
 * the hot paths, so that `ppp2p build` leaves them untouched and they run at native speed.
 *
 * A tour is an `Int32Array` permutation of the cities `0..n-1`, read as a cycle. A population is
 * one flat `Int32Array` of `size * n` cities plus a `Float64Array` of tour lengths: plain data that a
 * snapshot carries as-is. Every random choice goes through a `rand: () => number` in [0, 1), so that a
 * run depends only on the generator's seed.
 *
 * The algorithm is memetic: each child of an order crossover (OX) is improved by 2-opt and Or-opt
 * local search driven by neighbour lists and don't-look bits, then replaces the worst member of the
 * population if it is better and not a duplicate. Because every member is a local optimum, the
 * crossover only has to recombine good edges: on kroA100 one island reaches the optimum within a few
 * dozen generations (about 1 ms each on one core).
 */

import { roundedDistance } from './tsplib.ts';

/** A source of uniform numbers in [0, 1). */
export type Rand = () => number;

/**
 * The data the operators need about an instance: derived, never part of a snapshot, and rebuilt by every thread
 * that gets the instance (each island, and a resumed one again), so it is built in O(n^2), not O(n^2 log n).
 * The full matrix is kept because local search reads it at random: computing distances from the coordinates
 * instead measured 15-25% slower per generation (n = 1,000).
 */
export interface Problem {
  readonly n: number;
  /**
   * `dist[i * n + j]`: TSPLIB's rounded EUC_2D distance. Two bytes a distance when every distance fits (the bounding
   * box's diagonal is at most 65,535), four otherwise: at 2,000 cities that is 8 MB instead of 16 MB per island, and the
   * local search, whose lookups go all over the matrix, ran faster with it, alone and with two islands sharing one
   * machine's cache (BENCHMARKS.md, issue 6).
   */
  readonly dist: Uint16Array | Int32Array;
  /** `neighbours[i * k + m]`: the m-th nearest city to i. */
  readonly neighbours: Int32Array;
  readonly k: number;
}

/** A population of `size` tours of `n` cities. */
export interface Population {
  size: number;
  n: number;
  /** Tour i is `tours.subarray(i * n, (i + 1) * n)`. */
  tours: Int32Array;
  lengths: Float64Array;
}

/** How many nearest neighbours local search considers per city. @default 10 */
export const DEFAULT_NEIGHBOURS = 10;

/**
 * The problem of cities at (`x[i]`, `y[i]`): the distance matrix, and the `k` nearest cities of each, nearest first
 * and ties broken by index, so that the lists, and therefore every run, are deterministic.
 */
export function makeProblem(x: ArrayLike<number>, y: ArrayLike<number>, k = DEFAULT_NEIGHBOURS): Problem {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`x and y must hold one coordinate per city, found ${n} and ${y.length}`);
  const dist = boundingDiagonal(x, y) <= 0xffff ? new Uint16Array(n * n) : new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = roundedDistance(x[i]! - x[j]!, y[i]! - y[j]!);
      dist[i * n + j] = w;
      dist[j * n + i] = w;
    }
  }
  const kk = Math.max(1, Math.min(k, n - 1));
  const neighbours = new Int32Array(n * kk);
  const near = new Int32Array(kk); // distances of the nearest so far, for the row being built
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const out = i * kk;
    let size = 0;
    // Insertion into the k nearest so far; j rises, so a city goes after those at the same distance.
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dj = dist[row + j]!;
      if (size === kk && dj >= near[kk - 1]!) continue;
      let m = size < kk ? size++ : kk - 1;
      while (m > 0 && near[m - 1]! > dj) {
        near[m] = near[m - 1]!;
        neighbours[out + m] = neighbours[out + m - 1]!;
        m--;
      }
      near[m] = dj;
      neighbours[out + m] = j;
    }
  }
  return { n, dist, neighbours, k: kk };
}

/** The rounded length of the diagonal of the cities' bounding box: no two cities are farther apart. */
function boundingDiagonal(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < x.length; i++) {
    minX = Math.min(minX, x[i]!);
    maxX = Math.max(maxX, x[i]!);
    minY = Math.min(minY, y[i]!);
    maxY = Math.max(maxY, y[i]!);
  }
  return x.length === 0 ? 0 : roundedDistance(maxX - minX, maxY - minY);
}

// ---------------------------------------------------------------------------------------------
// Random numbers: sfc32, whose 4-word state is plain data that travels in a snapshot.

/** A generator state for {@link randomFrom}, derived from a seed and a stream number (an island id). */
export function seedRandom(seed: number, stream = 0): Uint32Array {
  const s = new Uint32Array([seed >>> 0, Math.imul(stream + 1, 0x85ebca6b) >>> 0, 0xc2b2ae35, 1]);
  const rand = randomFrom(s);
  // Warm up so that nearby seeds and streams give unrelated sequences.
  for (let i = 0; i < 16; i++) rand();
  return s;
}

/** A `Rand` that draws from (and advances) `state` in place. */
export function randomFrom(state: Uint32Array): Rand {
  return () => {
    const a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!;
    const t = (((a + b) | 0) + d) | 0;
    state[3] = (d + 1) | 0;
    state[0] = b ^ (b >>> 9);
    state[1] = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    state[2] = (r + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** An integer in [0, bound). */
function randomInt(rand: Rand, bound: number): number {
  return Math.floor(rand() * bound);
}

// ---------------------------------------------------------------------------------------------
// Tours

/** The length of the closed tour. */
export function tourLength(p: Problem, tour: Int32Array): number {
  const n = p.n, d = p.dist;
  let prev = tour[n - 1]!;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const c = tour[i]!;
    sum += d[prev * n + c]!;
    prev = c;
  }
  return sum;
}

/** A uniformly random tour (Fisher-Yates), written into `out`. */
export function randomTour(n: number, rand: Rand, out: Int32Array = new Int32Array(n)): Int32Array {
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(rand, i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** Whether `tour` holds each of the cities 0..n-1 exactly once. */
export function isPermutation(tour: ArrayLike<number>, n: number): boolean {
  if (tour.length !== n) return false;
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = tour[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= n || seen[c] === 1) return false;
    seen[c] = 1;
  }
  return true;
}

/** The same cycle written from city 0, in the direction whose second city is the smaller neighbour of 0. */
export function canonicalTour(tour: Int32Array): Int32Array {
  const n = tour.length;
  const at = tour.indexOf(0);
  const next = tour[(at + 1) % n]!;
  const prev = tour[(at - 1 + n) % n]!;
  const step = next <= prev ? 1 : n - 1;
  const out = new Int32Array(n);
  for (let i = 0, j = at; i < n; i++, j = (j + step) % n) out[i] = tour[j]!;
  return out;
}

// Scratch buffers shared by the synchronous operators (never live across a call).
let seenBuf = new Uint8Array(0);
let posBuf = new Int32Array(0);
let queueBuf = new Int32Array(0);
let tempBuf = new Int32Array(0);

function scratch(n: number): void {
  if (posBuf.length < n) {
    seenBuf = new Uint8Array(n);
    posBuf = new Int32Array(n);
    queueBuf = new Int32Array(n);
    tempBuf = new Int32Array(n);
  }
}

// ---------------------------------------------------------------------------------------------
// Variation

/**
 * Order crossover (OX, Davis): the child keeps a random slice of `p1` in place and fills the rest
 * with the remaining cities in the order they follow the slice in `p2`.
 */
export function orderCrossover(p1: Int32Array, p2: Int32Array, child: Int32Array, rand: Rand): void {
  const n = p1.length;
  scratch(n);
  const used = seenBuf;
  used.fill(0, 0, n);
  let i = randomInt(rand, n);
  let j = randomInt(rand, n);
  if (i > j) {
    const t = i;
    i = j;
    j = t;
  }
  for (let k = i; k <= j; k++) {
    const c = p1[k]!;
    child[k] = c;
    used[c] = 1;
  }
  let w = j + 1 === n ? 0 : j + 1;
  let r = w;
  for (let t = 0; t < n; t++) {
    const c = p2[r]!;
    if (++r === n) r = 0;
    if (used[c] === 0) {
      child[w] = c;
      if (++w === n) w = 0;
    }
  }
}

/** Inversion mutation: reverses a random slice. */
export function invertSegment(tour: Int32Array, rand: Rand): void {
  const n = tour.length;
  let i = randomInt(rand, n);
  let j = randomInt(rand, n);
  if (i > j) {
    const t = i;
    i = j;
    j = t;
  }
  for (; i < j; i++, j--) {
    const t = tour[i]!;
    tour[i] = tour[j]!;
    tour[j] = t;
  }
}

/** Swap mutation: exchanges two random cities. */
export function swapCities(tour: Int32Array, rand: Rand): void {
  const n = tour.length;
  const i = randomInt(rand, n);
  const j = randomInt(rand, n);
  const t = tour[i]!;
  tour[i] = tour[j]!;
  tour[j] = t;
}

/**
 * Double-bridge mutation: A B C D becomes A C B D. Unlike an inversion, 2-opt cannot undo it in
 * one move, so it survives the local search that follows and keeps the population exploring.
 */
export function doubleBridge(tour: Int32Array, rand: Rand): void {
  const n = tour.length;
  if (n < 8) {
    invertSegment(tour, rand);
    return;
  }
  // Three cut points 1 <= a < b < c < n.
  const a = 1 + randomInt(rand, n - 3);
  const b = a + 1 + randomInt(rand, n - a - 2);
  const c = b + 1 + randomInt(rand, n - b - 1);
  scratch(n);
  const tmp = tempBuf;
  let w = 0;
  for (let i = b; i < c; i++) tmp[w++] = tour[i]!;
  for (let i = a; i < b; i++) tmp[w++] = tour[i]!;
  tour.set(tmp.subarray(0, w), a);
}

/** Tournament selection: the shortest of `size` random members. */
export function tournament(lengths: Float64Array, count: number, size: number, rand: Rand): number {
  let best = randomInt(rand, count);
  for (let s = 1; s < size; s++) {
    const c = randomInt(rand, count);
    if (lengths[c]! < lengths[best]!) best = c;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Local search: 2-opt and Or-opt with neighbour lists and don't-look bits.
//
// The tour is kept as an array with an inverse `pos`. A move reverses one or a few slices; the
// reversal takes the shorter side of the cycle, which is the same tour for a symmetric instance.
// A queue holds the cities whose don't-look bit is off; a city is re-queued when a move changes
// one of its edges.

/** Reverses the cyclic slice of positions i..j (inclusive, walking forward from i). */
function reverse(tour: Int32Array, pos: Int32Array, n: number, i: number, j: number): void {
  let len = j - i;
  if (len < 0) len += n;
  len += 1;
  if (len * 2 > n) {
    // Reversing the complement gives the same cycle and moves fewer cities.
    reverseExact(tour, pos, n, j + 1 === n ? 0 : j + 1, i === 0 ? n - 1 : i - 1);
  } else {
    reverseExact(tour, pos, n, i, j);
  }
}

/** The don't-look queue of the running local search: `queueBuf[lsHead ..+ lsSize]`, cyclic; `seenBuf` marks members. */
let lsHead = 0;
let lsSize = 0;

function push(city: number, n: number): void {
  const inQueue = seenBuf;
  if (inQueue[city] === 1) return;
  inQueue[city] = 1;
  let at = lsHead + lsSize;
  if (at >= n) at -= n;
  queueBuf[at] = city;
  lsSize++;
}

/** Options of {@link localSearch}. */
export interface LocalSearchOptions {
  /** Also try Or-opt moves (a slice of 1-3 cities moved elsewhere). @default true */
  orOpt?: boolean;
}

/**
 * Improves `tour` in place until no 2-opt move (and, by default, no Or-opt move) among the
 * neighbour lists shortens it. Never makes the tour longer; returns the new length.
 */
export function localSearch(p: Problem, tour: Int32Array, options: LocalSearchOptions = {}): number {
  const n = p.n;
  const orOpt = options.orOpt ?? true;
  scratch(n);
  const pos = posBuf;
  for (let i = 0; i < n; i++) {
    const c = tour[i]!;
    pos[c] = i;
    queueBuf[i] = c;
    seenBuf[c] = 1;
  }
  lsHead = 0;
  lsSize = n;
  for (;;) {
    let moves = 0;
    while (lsSize > 0) {
      const a = queueBuf[lsHead]!;
      if (++lsHead === n) lsHead = 0;
      lsSize--;
      seenBuf[a] = 0;
      // Keep improving around `a` until it has no improving move; then its don't-look bit stays on.
      while (improveTwoOpt(p, tour, pos, a) || (orOpt && improveOrOpt(p, tour, pos, a))) moves++;
    }
    if (moves === 0) break;
    // Don't-look bits only re-examine the endpoints of changed edges, which can miss a move that a
    // change elsewhere enabled. One more sweep over every city makes the result a true local optimum
    // (for the neighbour lists), so that local search is idempotent; it rarely finds anything.
    for (let i = 0; i < n; i++) push(tour[i]!, n);
  }
  return tourLength(p, tour);
}

/** One improving 2-opt move that adds an edge from `a` to one of its neighbours, if any. */
function improveTwoOpt(p: Problem, tour: Int32Array, pos: Int32Array, a: number): boolean {
  const n = p.n, d = p.dist, nb = p.neighbours, k = p.k;
  const ia = pos[a]!;
  const an = a * n;
  // Successor side: a b ... c e  ->  a c ... b e
  const b = tour[ia + 1 === n ? 0 : ia + 1]!;
  const dab = d[an + b]!;
  for (let m = 0; m < k; m++) {
    const c = nb[a * k + m]!;
    const dac = d[an + c]!;
    if (dac >= dab) break;
    const ic = pos[c]!;
    const e = tour[ic + 1 === n ? 0 : ic + 1]!;
    if (e === a) continue;
    if (dac + d[b * n + e]! < dab + d[c * n + e]!) {
      reverse(tour, pos, n, pos[b]!, ic);
      push(a, n); push(b, n); push(c, n); push(e, n);
      return true;
    }
  }
  // Predecessor side: e c ... b a  ->  e b ... c a
  const b2 = tour[ia === 0 ? n - 1 : ia - 1]!;
  const dab2 = d[an + b2]!;
  for (let m = 0; m < k; m++) {
    const c = nb[a * k + m]!;
    const dac = d[an + c]!;
    if (dac >= dab2) break;
    const ic = pos[c]!;
    const e = tour[ic === 0 ? n - 1 : ic - 1]!;
    if (e === a) continue;
    if (dac + d[b2 * n + e]! < dab2 + d[e * n + c]!) {
      reverse(tour, pos, n, ic, pos[b2]!);
      push(a, n); push(b2, n); push(c, n); push(e, n);
      return true;
    }
  }
  return false;
}

/**
 * One improving Or-opt move of a slice that starts or ends at `a` (1 to 3 cities) to between a
 * neighbour of `a` and that neighbour's successor or predecessor, in either orientation.
 */
function improveOrOpt(p: Problem, tour: Int32Array, pos: Int32Array, a: number): boolean {
  const n = p.n, d = p.dist, nb = p.neighbours, k = p.k;
  const ia = pos[a]!;
  for (let len = 1; len <= 3 && len < n - 3; len++) {
    // Two slices: a and the next len-1 cities, or the len-1 cities before a and a.
    for (let side = 0; side < (len === 1 ? 1 : 2); side++) {
      let i = side === 0 ? ia : ia - len + 1;
      if (i < 0) i += n;
      let j = i + len - 1;
      if (j >= n) j -= n;
      const s1 = tour[i]!, s2 = tour[j]!;
      const prev = tour[i === 0 ? n - 1 : i - 1]!;
      const next = tour[j + 1 === n ? 0 : j + 1]!;
      const removeGain = d[prev * n + s1]! + d[s2 * n + next]! - d[prev * n + next]!;
      if (removeGain <= 0) continue;
      for (let m = 0; m < k; m++) {
        const c = nb[a * k + m]!;
        const dac = d[a * n + c]!;
        if (dac >= removeGain) break;
        // c must lie outside the slice.
        let off = pos[c]! - i;
        if (off < 0) off += n;
        if (off < len) continue;
        // The slice goes next to c with `a` touching c: between c and its successor or predecessor.
        for (let dir = 0; dir < 2; dir++) {
          const ic = pos[c]!;
          const e = dir === 0 ? tour[ic + 1 === n ? 0 : ic + 1]! : tour[ic === 0 ? n - 1 : ic - 1]!;
          if (e === s1 || e === s2) continue; // c is next to the slice: that insertion is a 2-opt move
          const other = a === s1 ? s2 : s1;
          const addCost = dac + d[other * n + e]! - d[c * n + e]!;
          if (addCost < removeGain) {
            // Insert between x=dir?e:c and y=dir?c:e, with `a` adjacent to c.
            moveSlice(tour, pos, n, i, j, dir === 0 ? c : e, a === s1 ? dir === 0 : dir === 1);
            push(prev, n); push(next, n); push(s1, n); push(s2, n); push(c, n); push(e, n);
            return true;
          }
        }
      }
    }
  }
  return false;
}

/**
 * Moves the slice at positions i..j (forward, not containing `x`) to between `x` and its
 * successor; `forward` keeps the slice's orientation (x s1 .. s2 y), otherwise it is reversed.
 * Done with reversals so that `pos` stays right: p [S] [q..x] y -> p [q..x] [S] y.
 */
function moveSlice(tour: Int32Array, pos: Int32Array, n: number, i: number, j: number, x: number, forward: boolean): void {
  const ix = pos[x]!;
  const sLen = (j - i + n) % n + 1;
  // Does x come after the slice (p S q..x y) or before it (x y..p S q)?
  let after = ix - j;
  if (after < 0) after += n;
  let before = i - ix;
  if (before < 0) before += n;
  if (after <= before) {
    // p [S][q..x] y: reverse all, then the two parts: p [x..q][S'] y -> p [q..x][S'] y.
    reverseExact(tour, pos, n, i, ix);
    // now positions i.. hold x..q (length after), then S reversed.
    let qEnd = i + after - 1;
    if (qEnd >= n) qEnd -= n;
    reverseExact(tour, pos, n, i, qEnd);
    if (forward) {
      let sStart = qEnd + 1;
      if (sStart >= n) sStart -= n;
      let sEnd = sStart + sLen - 1;
      if (sEnd >= n) sEnd -= n;
      reverseExact(tour, pos, n, sStart, sEnd);
    }
  } else {
    // x [y..p][S] q: reverse all, then the two parts: x [S'][p..y] q -> x [S'][y..p] q.
    const y = ix + 1 === n ? 0 : ix + 1;
    reverseExact(tour, pos, n, y, j);
    // positions y.. hold S reversed (sLen), then p..y.
    let rStart = y + sLen;
    if (rStart >= n) rStart -= n;
    reverseExact(tour, pos, n, rStart, j);
    let sEnd = y + sLen - 1;
    if (sEnd >= n) sEnd -= n;
    // S reversed is s2..s1 after x: that is the reversed orientation; flip for forward.
    if (forward) reverseExact(tour, pos, n, y, sEnd);
  }
}

/** Reverses exactly the cyclic slice i..j (forward), without taking the complement. */
function reverseExact(tour: Int32Array, pos: Int32Array, n: number, i: number, j: number): void {
  let len = j - i;
  if (len < 0) len += n;
  len += 1;
  for (let s = len >> 1; s > 0; s--) {
    const a = tour[i]!, b = tour[j]!;
    tour[i] = b;
    pos[b] = i;
    tour[j] = a;
    pos[a] = j;
    if (++i === n) i = 0;
    if (--j < 0) j = n - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Populations

/** Parameters of {@link evolveGeneration}. */
export interface EvolveOptions {
  /** Children bred per generation. */
  offspring: number;
  /** Members compared per tournament. */
  tournamentSize: number;
  /** Probability that a child is mutated (double bridge) before local search. */
  mutationRate: number;
  /** Use Or-opt moves in local search besides 2-opt. */
  orOpt: boolean;
}

let childBuf = new Int32Array(0);

/** A population of `size` random tours, each improved by local search. */
export function createPopulation(p: Problem, size: number, rand: Rand, orOpt = true): Population {
  const n = p.n;
  const pop: Population = { size, n, tours: new Int32Array(size * n), lengths: new Float64Array(size) };
  for (let i = 0; i < size; i++) {
    const tour = pop.tours.subarray(i * n, (i + 1) * n);
    randomTour(n, rand, tour);
    pop.lengths[i] = localSearch(p, tour, { orOpt });
  }
  return pop;
}

/** Tour i of a population, as a view. */
export function member(pop: Population, i: number): Int32Array {
  return pop.tours.subarray(i * pop.n, (i + 1) * pop.n);
}

/** Index of the shortest tour (the first one on ties). */
export function bestIndex(pop: Population): number {
  let best = 0;
  for (let i = 1; i < pop.size; i++) if (pop.lengths[i]! < pop.lengths[best]!) best = i;
  return best;
}

/** Index of the longest tour (the last one on ties). */
export function worstIndex(pop: Population): number {
  let worst = 0;
  for (let i = 1; i < pop.size; i++) if (pop.lengths[i]! >= pop.lengths[worst]!) worst = i;
  return worst;
}

/**
 * Steady-state replacement: `tour` takes the place of the worst member if it is shorter and no
 * member has the same length (a cheap duplicate test that keeps the population diverse).
 * Returns whether it was taken.
 */
export function offerTour(pop: Population, tour: ArrayLike<number>, length: number): boolean {
  let worst = 0;
  for (let i = 0; i < pop.size; i++) {
    const l = pop.lengths[i]!;
    if (l === length) return false;
    if (l >= pop.lengths[worst]!) worst = i;
  }
  if (length >= pop.lengths[worst]!) return false;
  pop.tours.set(tour, worst * pop.n);
  pop.lengths[worst] = length;
  return true;
}

/**
 * One generation: `offspring` children, each from two tournament winners by order crossover,
 * mutated with probability `mutationRate`, improved by local search and offered to the population.
 * Returns how many children were taken.
 */
export function evolveGeneration(p: Problem, pop: Population, options: EvolveOptions, rand: Rand): number {
  const n = p.n;
  if (childBuf.length < n) childBuf = new Int32Array(n);
  const child = childBuf.subarray(0, n);
  let taken = 0;
  for (let o = 0; o < options.offspring; o++) {
    const a = tournament(pop.lengths, pop.size, options.tournamentSize, rand);
    let b = tournament(pop.lengths, pop.size, options.tournamentSize, rand);
    if (b === a) b = (a + 1 + randomInt(rand, pop.size - 1)) % pop.size;
    orderCrossover(member(pop, a), member(pop, b), child, rand);
    if (rand() < options.mutationRate) doubleBridge(child, rand);
    const length = localSearch(p, child, { orOpt: options.orOpt });
    if (offerTour(pop, child, length)) taken++;
  }
  return taken;
}
