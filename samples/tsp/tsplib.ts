/**
 * A reader for symmetric TSPLIB instances with EUC_2D weights, the kind the paper evaluated on.
 *
 * ```ts
 * import { loadTsplib, euc2d } from './tsplib.ts';
 * const berlin = loadTsplib('samples/tsp/instances/berlin52.tsp');
 * euc2d(berlin, 0, 1);                      // 666, TSPLIB's rounded distance
 * ```
 *
 * The parsed instance is plain data (strings, numbers, arrays of numbers) so that it can be handed to
 * a virtual thread as a spawn argument (which takes no Float64Array) and travel inside its snapshots;
 * what the genetic algorithm derives from it (genetic.ts `makeProblem`) is never part of a snapshot.
 *
 * Accepted: `KEY: value`, `KEY : value` and `KEY value` specification lines in any order, blank lines,
 * any whitespace between coordinate fields, integer or decimal (also exponent) coordinates, node lines
 * in any order, a missing `EOF` at the end of the file. Everything else that is not an EUC_2D `TSP`
 * is rejected with a {@link TsplibFormatError} that names the file, the line and what was expected.
 */
import { readFileSync } from 'node:fs';

/** A symmetric travelling-salesman instance with cities in the plane. Cities are 0-based here. */
export interface TspInstance {
  name: string;
  comment: string;
  dimension: number;
  /** `x[i]`, `y[i]`: coordinates of city i (TSPLIB node i + 1). */
  x: number[];
  y: number[];
}

/** Thrown by {@link parseTsplib} when the text is not an EUC_2D TSPLIB instance this reader supports. */
export class TsplibFormatError extends Error {
  override name = 'TsplibFormatError';
  constructor(
    readonly file: string,
    /** 1-based line number of the offending line. */
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** Specification keywords that carry no information this reader needs but are valid TSPLIB. */
const IGNORED_KEYS = new Set(['CAPACITY', 'DISPLAY_DATA_TYPE', 'NODE_COORD_TYPE']);
/** Sections that other TSPLIB instance kinds use: named so that the error says why they are refused. */
const UNSUPPORTED_SECTIONS = new Set([
  'EDGE_WEIGHT_SECTION',
  'DISPLAY_DATA_SECTION',
  'FIXED_EDGES_SECTION',
  'DEPOT_SECTION',
  'DEMAND_SECTION',
  'TOUR_SECTION',
  'EDGE_DATA_SECTION',
]);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^\+?\d+$/;

/** Reads a TSPLIB file from disk; errors name `file` as given. */
export function loadTsplib(file: string): TspInstance {
  return parseTsplib(readFileSync(file, 'utf8'), file);
}

/** Parses the text of a TSPLIB file; `file` only labels errors. */
export function parseTsplib(text: string, file = '<input>'): TspInstance {
  const lines = text.split(/\r?\n/);
  function fail(index: number, detail: string): never {
    throw new TsplibFormatError(file, index + 1, detail);
  }

  let name = '';
  let comment = '';
  let type: 'TSP' | undefined;
  let dimension: number | undefined;
  let weightType: string | undefined;
  let x: number[] | undefined;
  let y: number[] | undefined;
  let seen: Uint8Array | undefined;
  let coordinates = 0;
  /** Line index of NODE_COORD_SECTION once it was seen, -1 before. */
  let sectionStart = -1;
  let lastLine = lines.length - 1;
  // A trailing newline produces an empty last element that is not a line of the file.
  if (lastLine > 0 && lines[lastLine] === '') lastLine--;

  let i = 0;
  for (; i <= lastLine; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line === 'EOF') break;

    // Inside the section every line is a node line until DIMENSION of them were read; after that a
    // line that starts like a number is one too many (readCoordinate says so).
    if (sectionStart >= 0 && (coordinates < dimension! || /^[+-]?[\d.]/.test(line))) {
      // x, y and seen are set together with sectionStart.
      readCoordinate(line, i, coordinates, dimension!, x!, y!, seen!, fail);
      coordinates++;
      continue;
    }

    if (sectionStart >= 0) fail(i, `expected EOF after the ${dimension} node lines, found "${clip(line)}"`);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*(.*)|\s+(.*)|)$/.exec(line);
    if (match === null) fail(i, `expected a "KEY: value" line or NODE_COORD_SECTION, found "${clip(line)}"`);
    const key = match[1]!.toUpperCase();
    const value = (match[2] ?? match[3] ?? '').trim();

    switch (key) {
      case 'NAME':
        name = value;
        break;
      case 'COMMENT':
        comment = comment === '' ? value : `${comment}\n${value}`;
        break;
      case 'TYPE':
        if (value.toUpperCase() !== 'TSP') fail(i, `expected TYPE: TSP (symmetric travelling salesman), found TYPE: ${value || '(empty)'}`);
        type = 'TSP';
        break;
      case 'DIMENSION':
        if (!INTEGER.test(value) || Number(value) < 3) fail(i, `expected DIMENSION to be an integer >= 3, found "${value}"`);
        dimension = Number(value);
        break;
      case 'EDGE_WEIGHT_TYPE':
        if (value.toUpperCase() !== 'EUC_2D') fail(i, `expected EDGE_WEIGHT_TYPE: EUC_2D (the only type this reader supports), found EDGE_WEIGHT_TYPE: ${value || '(empty)'}`);
        weightType = 'EUC_2D';
        break;
      case 'NODE_COORD_SECTION':
        if (sectionStart >= 0) fail(i, 'expected one NODE_COORD_SECTION, found a second one');
        if (dimension === undefined) fail(i, 'expected a DIMENSION line before NODE_COORD_SECTION');
        if (weightType === undefined) fail(i, 'expected an EDGE_WEIGHT_TYPE: EUC_2D line before NODE_COORD_SECTION');
        if (type === undefined) fail(i, 'expected a TYPE: TSP line before NODE_COORD_SECTION');
        sectionStart = i;
        x = new Array<number>(dimension).fill(0);
        y = new Array<number>(dimension).fill(0);
        seen = new Uint8Array(dimension!);
        break;
      default:
        if (UNSUPPORTED_SECTIONS.has(key)) fail(i, `expected NODE_COORD_SECTION, found ${key}, which this EUC_2D reader does not support`);
        if (!IGNORED_KEYS.has(key)) fail(i, `expected a TSPLIB keyword (NAME, TYPE, COMMENT, DIMENSION, EDGE_WEIGHT_TYPE, NODE_COORD_SECTION, EOF), found "${key}"`);
    }
  }

  // Errors about what is missing point at the EOF line, or at the last line when there is no EOF.
  const end = i <= lastLine ? i : Math.max(lastLine, 0);
  if (sectionStart < 0 || dimension === undefined || x === undefined || y === undefined) {
    fail(end, 'expected NODE_COORD_SECTION before the end of the file');
  }
  if (coordinates < dimension) {
    fail(end, `expected ${dimension} node lines in NODE_COORD_SECTION (DIMENSION: ${dimension}), found ${coordinates} before ${i <= lastLine ? 'EOF' : 'the end of the file'}`);
  }
  return { name, comment, dimension, x, y };
}

function readCoordinate(
  line: string,
  index: number,
  read: number,
  dimension: number,
  x: number[],
  y: number[],
  seen: Uint8Array,
  fail: (index: number, detail: string) => never,
): void {
  const fields = line.split(/\s+/);
  const what = read < dimension ? `node line ${read + 1} of ${dimension}` : 'no more node lines';
  if (fields.length !== 3) fail(index, `expected ${what}, "<id> <x> <y>" (3 fields), found ${fields.length} field${fields.length === 1 ? '' : 's'}: "${clip(line)}"`);
  const [idText, xText, yText] = fields as [string, string, string];
  if (!INTEGER.test(idText)) fail(index, `expected ${what}, starting with a node id (an integer 1..${dimension}), found "${clip(idText)}"`);
  const id = Number(idText);
  if (id < 1 || id > dimension) fail(index, `expected a node id in 1..${dimension} (DIMENSION: ${dimension}), found ${id}`);
  if (seen[id - 1] === 1) fail(index, `expected each node id once, found node ${id} again`);
  if (!NUMBER.test(xText)) fail(index, `expected a number for the x coordinate of node ${id}, found "${xText}"`);
  if (!NUMBER.test(yText)) fail(index, `expected a number for the y coordinate of node ${id}, found "${yText}"`);
  seen[id - 1] = 1;
  x[id - 1] = Number(xText);
  y[id - 1] = Number(yText);
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** TSPLIB's EUC_2D distance between cities i and j: the Euclidean distance rounded to the nearest integer. */
export function euc2d(instance: TspInstance, i: number, j: number): number {
  return roundedDistance(instance.x[i]! - instance.x[j]!, instance.y[i]! - instance.y[j]!);
}

/** TSPLIB's EUC_2D distance of two cities `dx` and `dy` apart. */
export function roundedDistance(dx: number, dy: number): number {
  // TSPLIB's nint(x) is (int)(x + 0.5), for distances far below 2^31.
  return (Math.sqrt(dx * dx + dy * dy) + 0.5) | 0;
}

/**
 * A random instance of `n` cities with integer coordinates uniform in a `side` x `side` square, the
 * same for the same seed: problem sizes beyond the bundled TSPLIB files, for benchmarks.
 */
export function uniformInstance(n: number, seed: number, side = 10_000): TspInstance {
  if (!Number.isInteger(n) || n < 3) throw new RangeError(`n must be an integer >= 3, found ${n}`);
  // xorshift32 (never zero-seeded): enough for coordinates, and independent of the GA's generator.
  let s = (seed ^ 0x6d2b79f5) >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    x.push(Math.floor(next() * side));
    y.push(Math.floor(next() * side));
  }
  return { name: `uniform${n}-${seed}`, comment: `${n} cities uniform in a ${side} x ${side} square, seed ${seed}`, dimension: n, x, y };
}
