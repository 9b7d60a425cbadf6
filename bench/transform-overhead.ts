/**
 * What `ppp2p build` costs hot code: a compute loop (nested loops over a Float64Array, one
 * `await checkpoint()` per outer iteration) run natively (the .ts source, where checkpoint() is a
 * no-op) and transformed (the built module), both as a virtual thread under a ThreadContext whose
 * host accepts snapshots (default policy: at most one snapshot per second, really encoded). Rounds
 * alternate so that both see the same machine state; medians are compared.
 *
 * The same comparison is then made on the TSP sample's generation loop (samples/tsp/island.ts, one
 * island, checkpoint per generation), native against the build the sample itself uses.
 *
 *   npx tsx --conditions=ppp2p-source bench/transform-overhead.ts [--rounds 7] [--outer 2000] [--inner 50000] [--tsp-generations 2500]
 *
 * Prints JSON: { native_ms, transformed_ms, ratio, ..., tsp: { ... } }. Goal: both ratios <= 1.05.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { buildProject, formatDiagnostic } from '../src/build/index.ts';
import { ThreadContext, detachThread, type ThreadHost } from '../src/runtime/index.ts';
import { loadBuiltIsland } from '../samples/tsp/built-island.ts';
import { island as nativeIsland, type IslandConfig } from '../samples/tsp/island.ts';
import { loadTsplib } from '../samples/tsp/tsplib.ts';

const KERNEL = `import { checkpoint } from 'ppp2p';

/** Relaxes a vector for \`outer\` rounds; a checkpoint opportunity after each round. */
export async function relax(outer: number, inner: number): Promise<number> {
  const a = new Float64Array(inner);
  for (let j = 0; j < inner; j++) a[j] = j / inner;
  let sum = 0;
  for (let i = 0; i < outer; i++) {
    for (let j = 1; j < inner - 1; j++) {
      const v = (a[j - 1]! + a[j]! * 2 + a[j + 1]!) * 0.25 + i * 1e-9;
      a[j] = v;
      sum += v;
    }
    await checkpoint();
  }
  return sum;
}
`;

type Kernel = (outer: number, inner: number) => Promise<number>;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    outer: { type: 'string', default: '2000' },
    inner: { type: 'string', default: '50000' },
    'tsp-generations': { type: 'string', default: '2500' },
  },
});
const rounds = Number(values.rounds);
const outer = Number(values.outer);
const inner = Number(values.inner);

const base = resolve(import.meta.dirname, '.out/transform-overhead');
const srcDir = join(base, 'src');
const outDir = join(base, 'out');
rmSync(base, { recursive: true, force: true });
mkdirSync(srcDir, { recursive: true });
writeFileSync(join(srcDir, 'kernel.ts'), KERNEL);
const build = buildProject({ rootDir: srcDir, outDir });
if (build.diagnostics.length > 0) {
  for (const d of build.diagnostics) console.error(formatDiagnostic(d));
  process.exit(1);
}
const native = ((await import(pathToFileURL(join(srcDir, 'kernel.ts')).href)) as { relax: Kernel }).relax;
const transformed = ((await import(pathToFileURL(join(outDir, 'kernel.js')).href)) as { relax: Kernel }).relax;

let snapshots = 0;
let snapshotBytes = 0;
const host: ThreadHost = {
  checkpoint(bytes) {
    snapshots++;
    snapshotBytes = bytes.byteLength;
    return Promise.resolve();
  },
  progress() {},
};

async function time<A extends unknown[], R>(fn: (...args: A) => Promise<R>, args: A): Promise<{ ms: number; result: string }> {
  const ctx = new ThreadContext(ThreadContext.initialState(0, 1), host);
  const started = performance.now();
  const result = await ctx.run(fn, args);
  const ms = performance.now() - started;
  detachThread();
  return { ms, result: JSON.stringify(result) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Alternating rounds of native and transformed after a warm-up of each; medians. */
async function compare<A extends unknown[], R>(
  nativeFn: (...args: A) => Promise<R>,
  transformedFn: (...args: A) => Promise<R>,
  args: A,
): Promise<{ nativeMs: number[]; transformedMs: number[]; same: boolean }> {
  await time(nativeFn, args);
  await time(transformedFn, args);
  const nativeMs: number[] = [];
  const transformedMs: number[] = [];
  let same = true;
  for (let r = 0; r < rounds; r++) {
    const nativeFirst = r % 2 === 0;
    const a = await time(nativeFirst ? nativeFn : transformedFn, args);
    const b = await time(nativeFirst ? transformedFn : nativeFn, args);
    (nativeFirst ? nativeMs : transformedMs).push(a.ms);
    (nativeFirst ? transformedMs : nativeMs).push(b.ms);
    same &&= a.result === b.result;
  }
  return { nativeMs, transformedMs, same };
}

const { nativeMs, transformedMs, same } = await compare(native, transformed, [outer, inner] as [number, number]);
const kernelSnapshots = snapshots;

// The TSP sample's generation loop: kroA100, one island, no migration, a checkpoint per generation.
snapshots = 0;
const tspConfig: IslandConfig = {
  instance: loadTsplib(resolve(import.meta.dirname, '../samples/tsp/instances/kroA100.tsp')),
  generations: Number(values['tsp-generations']),
  seed: 1,
  migration: 'none',
};
const builtIsland = await loadBuiltIsland();
const tsp = await compare(nativeIsland, builtIsland, [tspConfig] as [IslandConfig]);
const tspNative = median(tsp.nativeMs);
const tspTransformed = median(tsp.transformedMs);
const nativeMedian = median(nativeMs);
const transformedMedian = median(transformedMs);
console.log(
  JSON.stringify(
    {
      bench: 'transform-overhead',
      outer,
      inner,
      rounds,
      native_ms: Math.round(nativeMedian * 10) / 10,
      transformed_ms: Math.round(transformedMedian * 10) / 10,
      ratio: Math.round((transformedMedian / nativeMedian) * 1000) / 1000,
      same_result: same,
      snapshots_taken: kernelSnapshots,
      snapshot_bytes: snapshotBytes,
      tsp: {
        instance: 'kroA100',
        generations: tspConfig.generations,
        native_ms: Math.round(tspNative * 10) / 10,
        transformed_ms: Math.round(tspTransformed * 10) / 10,
        ratio: Math.round((tspTransformed / tspNative) * 1000) / 1000,
        same_result: tsp.same,
        snapshots_taken: snapshots,
      },
    },
    null,
    2,
  ),
);
