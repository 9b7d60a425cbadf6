/**
 * Snapshot codec speed on about 1 MB of thread state, next to plain msgpackr on the same state in
 * the same run. Prints one JSON object; times are medians over `--runs` runs after a warm-up.
 *
 *   npx tsx --conditions=ppp2p-source bench/snapshot.ts [--runs 50]
 *
 * The state is one frame of a genetic algorithm: a Float64Array of 131072 weights (1 MiB), a
 * population of 2000 individuals with small gene arrays, and a Map cache of 1000 entries.
 * Baselines: `msgpackr` (moreTypes, so typed arrays go as raw bytes) loses the frame's class and
 * would silently drop functions; `msgpackr_structured` (structuredClone) also keeps shared
 * references. Ratios are codec time / baseline time.
 */
import { Packr } from 'msgpackr';
import { Frame, registerFrame } from '../src/runtime/frame.ts';
import { decodeSnapshot, encodeSnapshot } from '../src/runtime/snapshot-codec.ts';
import { ThreadContext } from '../src/runtime/thread-context.ts';

class evolve$Frame extends Frame {
  static id = 'bench/snapshot.ts#evolve';
  static layout = 'bench-1';
  static fields = ['weights', 'population', 'cache', 'g', 'best'];
  static sites = [0, 1];
  static fn = async (): Promise<unknown> => undefined;
}
registerFrame(evolve$Frame);

function makeState(): unknown {
  let seed = 42;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const frame = new evolve$Frame();
  const weights = new Float64Array(131072);
  for (let i = 0; i < weights.length; i++) weights[i] = random();
  const population = Array.from({ length: 2000 }, (_, id) => ({
    id,
    fitness: random() * 1000,
    genes: Array.from({ length: 8 }, () => Math.floor(random() * 100)),
    parent: id > 0 ? id - 1 : null,
  }));
  const cache = new Map<string, number>();
  for (let i = 0; i < 1000; i++) cache.set(`route-${i}`, random() * 1e6);
  Object.assign(frame, { pc: 1, weights, population, cache, g: 17, best: population[0] });
  return { format: 1, frames: [frame], thread: ThreadContext.initialState(0, 4) };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median ms of `encode` and of `decode` over `runs` runs, after `warmup` unmeasured ones. */
function measure(
  runs: number,
  encode: () => Uint8Array,
  decode: (bytes: Uint8Array) => unknown,
): { bytes: number; encode_ms: number; decode_ms: number } {
  const encodeMs: number[] = [];
  const decodeMs: number[] = [];
  let bytes = encode();
  for (let i = 0; i < Math.max(10, runs >> 2); i++) decode(encode());
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    bytes = encode();
    encodeMs.push(performance.now() - t);
    t = performance.now();
    decode(bytes);
    decodeMs.push(performance.now() - t);
  }
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return { bytes: bytes.byteLength, encode_ms: round(median(encodeMs)), decode_ms: round(median(decodeMs)) };
}

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 50;
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const state = makeState();
const plain = new Packr({ moreTypes: true });
const structured = new Packr({ structuredClone: true });

const codec = measure(runs, () => encodeSnapshot(state), decodeSnapshot);
const msgpackr = measure(runs, () => plain.pack(state), (b) => plain.unpack(b));
const msgpackrStructured = measure(runs, () => structured.pack(state), (b) => structured.unpack(b));
const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

console.log(
  JSON.stringify(
    {
      bench: 'snapshot',
      runs,
      node: process.version,
      state: { float64: 131072, individuals: 2000, map_entries: 1000 },
      codec,
      msgpackr,
      msgpackr_structured: msgpackrStructured,
      ratio_vs_msgpackr: {
        bytes: ratio(codec.bytes, msgpackr.bytes),
        encode: ratio(codec.encode_ms, msgpackr.encode_ms),
        decode: ratio(codec.decode_ms, msgpackr.decode_ms),
      },
      ratio_vs_msgpackr_structured: {
        bytes: ratio(codec.bytes, msgpackrStructured.bytes),
        encode: ratio(codec.encode_ms, msgpackrStructured.encode_ms),
        decode: ratio(codec.decode_ms, msgpackrStructured.decode_ms),
      },
    },
    null,
    2,
  ),
);
