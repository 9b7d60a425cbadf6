import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { euc2d, loadTsplib, parseTsplib, TsplibFormatError, uniformInstance } from '../../samples/tsp/tsplib.ts';

const instances = fileURLToPath(new URL('../../samples/tsp/instances/', import.meta.url));

/** The header of a valid 5-city file; node lines and EOF are appended per test. */
const HEADER = ['NAME: tiny', 'TYPE: TSP', 'DIMENSION: 5', 'EDGE_WEIGHT_TYPE: EUC_2D', 'NODE_COORD_SECTION'];
const NODES = ['1 0 0', '2 3 0', '3 3 4', '4 0 4', '5 1 1'];

function parseError(text: string): TsplibFormatError {
  try {
    parseTsplib(text, 'bad.tsp');
  } catch (err) {
    expect(err).toBeInstanceOf(TsplibFormatError);
    return err as TsplibFormatError;
  }
  throw new Error('expected parseTsplib to throw');
}

describe('TSPLIB reader', () => {
  it('reads the three bundled instances with their dimensions and coordinates', () => {
    const eil51 = loadTsplib(`${instances}eil51.tsp`);
    const berlin52 = loadTsplib(`${instances}berlin52.tsp`);
    const kroA100 = loadTsplib(`${instances}kroA100.tsp`);
    expect([eil51.name, eil51.dimension]).toEqual(['eil51', 51]);
    expect([berlin52.name, berlin52.dimension]).toEqual(['berlin52', 52]);
    expect([kroA100.name, kroA100.dimension]).toEqual(['kroA100', 100]);
    expect(berlin52.comment).toBe('52 locations in Berlin (Groetschel)');
    // Last node lines of each file.
    expect([eil51.x[50], eil51.y[50]]).toEqual([30, 40]);
    expect([berlin52.x[51], berlin52.y[51]]).toEqual([1740, 245]);
    expect([kroA100.x[99], kroA100.y[99]]).toEqual([3950, 1558]);
  });

  it('computes TSPLIB rounded distances that match a hand computation', () => {
    // berlin52 nodes 1 (565, 575) and 2 (25, 185): sqrt(540² + 390²) = sqrt(443700) = 666.11 -> 666
    const berlin52 = loadTsplib(`${instances}berlin52.tsp`);
    expect(euc2d(berlin52, 0, 1)).toBe(666);
    expect(euc2d(berlin52, 1, 0)).toBe(666);
    // eil51 nodes 1 (37, 52) and 2 (49, 49): sqrt(144 + 9) = 12.37 -> 12
    const eil51 = loadTsplib(`${instances}eil51.tsp`);
    expect(euc2d(eil51, 0, 1)).toBe(12);
    // kroA100 nodes 1 (1380, 939) and 2 (2848, 96): sqrt(1468² + 843²) = sqrt(2865673) = 1692.83 -> 1693
    const kroA100 = loadTsplib(`${instances}kroA100.tsp`);
    expect(euc2d(kroA100, 0, 1)).toBe(1693);
    expect(euc2d(kroA100, 0, 0)).toBe(0);
  });

  it('rounds half-way distances up as TSPLIB nint does', () => {
    const inst = parseTsplib([...HEADER, '1 0 0', '2 2.5 0', '3 0 1.5', '4 -9 9', '5 1 0', 'EOF'].join('\n'));
    expect(euc2d(inst, 0, 1)).toBe(3); // 2.5
    expect(euc2d(inst, 0, 2)).toBe(2); // 1.5
  });

  it('tolerates spacing variants, CRLF, node lines out of order, decimals and a missing EOF', () => {
    const text = [
      'NAME : tiny',
      'COMMENT:first',
      'COMMENT :  second ',
      'TYPE:TSP',
      'DIMENSION  :  5',
      'DISPLAY_DATA_TYPE: COORD_DISPLAY',
      '',
      'EDGE_WEIGHT_TYPE :\tEUC_2D',
      'NODE_COORD_SECTION',
      '  3\t3.0   4e0 ',
      '1 0 0',
      '2 3 0',
      '5 +1 .1e1',
      '4 0 4',
    ].join('\r\n');
    const inst = parseTsplib(`${text}\r\n`);
    expect(inst.name).toBe('tiny');
    expect(inst.comment).toBe('first\nsecond');
    expect(Array.from(inst.x)).toEqual([0, 3, 3, 0, 1]);
    expect(Array.from(inst.y)).toEqual([0, 0, 4, 4, 1]);
    expect(euc2d(inst, 0, 2)).toBe(5);
  });

  it('ignores whatever follows EOF', () => {
    const inst = parseTsplib([...HEADER, ...NODES, 'EOF', 'garbage 1 2 3'].join('\n'));
    expect(inst.dimension).toBe(5);
  });

  it('makes the same uniform random instance for the same seed, for benchmarks beyond the bundled files', () => {
    const a = uniformInstance(200, 1);
    expect(a.dimension).toBe(200);
    expect(uniformInstance(200, 1)).toEqual(a);
    expect(uniformInstance(200, 2).x).not.toEqual(a.x);
    expect(a.x.every((v) => Number.isInteger(v) && v >= 0 && v < 10_000)).toBe(true);
  });

  describe('malformed files fail with the file, the line and what was expected', () => {
    it('too few node lines for DIMENSION: at the EOF line', () => {
      const err = parseError([...HEADER, ...NODES.slice(0, 4), 'EOF'].join('\n'));
      expect(err.line).toBe(10);
      expect(err.file).toBe('bad.tsp');
      expect(err.message).toBe('bad.tsp:10: expected 5 node lines in NODE_COORD_SECTION (DIMENSION: 5), found 4 before EOF');
    });

    it('too few node lines and no EOF: at the last line', () => {
      const err = parseError([...HEADER, ...NODES.slice(0, 3)].join('\n') + '\n');
      expect(err.message).toBe('bad.tsp:8: expected 5 node lines in NODE_COORD_SECTION (DIMENSION: 5), found 3 before the end of the file');
    });

    it('more node lines than DIMENSION', () => {
      const err = parseError([...HEADER, ...NODES, '6 7 7', 'EOF'].join('\n'));
      expect(err.message).toBe('bad.tsp:11: expected a node id in 1..5 (DIMENSION: 5), found 6');
    });

    it('a coordinate that is not a number', () => {
      const err = parseError([...HEADER, '1 0 0', '2 3 0', '3 3 four', '4 0 4', '5 1 1', 'EOF'].join('\n'));
      expect(err.line).toBe(8);
      expect(err.message).toBe('bad.tsp:8: expected a number for the y coordinate of node 3, found "four"');
    });

    it('a node line with a missing coordinate', () => {
      const err = parseError([...HEADER, '1 0 0', '2 3', '3 3 4', '4 0 4', '5 1 1', 'EOF'].join('\n'));
      expect(err.message).toBe('bad.tsp:7: expected node line 2 of 5, "<id> <x> <y>" (3 fields), found 2 fields: "2 3"');
    });

    it('a keyword inside the node lines', () => {
      const err = parseError([...HEADER, '1 0 0', 'EDGE_WEIGHT_SECTION', 'EOF'].join('\n'));
      expect(err.message).toBe('bad.tsp:7: expected node line 2 of 5, "<id> <x> <y>" (3 fields), found 1 field: "EDGE_WEIGHT_SECTION"');
    });

    it('a node id given twice', () => {
      const err = parseError([...HEADER, '1 0 0', '2 3 0', '2 3 4', '4 0 4', '5 1 1', 'EOF'].join('\n'));
      expect(err.message).toBe('bad.tsp:8: expected each node id once, found node 2 again');
    });

    it('an unsupported EDGE_WEIGHT_TYPE', () => {
      const err = parseError(['NAME: x', 'TYPE: TSP', 'DIMENSION: 5', 'EDGE_WEIGHT_TYPE: GEO', 'NODE_COORD_SECTION'].join('\n'));
      expect(err.line).toBe(4);
      expect(err.message).toBe('bad.tsp:4: expected EDGE_WEIGHT_TYPE: EUC_2D (the only type this reader supports), found EDGE_WEIGHT_TYPE: GEO');
    });

    it('an asymmetric instance', () => {
      const err = parseError(['NAME: x', 'TYPE: ATSP'].join('\n'));
      expect(err.message).toBe('bad.tsp:2: expected TYPE: TSP (symmetric travelling salesman), found TYPE: ATSP');
    });

    it('a DIMENSION that is not an integer', () => {
      const err = parseError(['NAME: x', 'TYPE: TSP', 'DIMENSION: 5.5'].join('\n'));
      expect(err.message).toBe('bad.tsp:3: expected DIMENSION to be an integer >= 3, found "5.5"');
    });

    it('NODE_COORD_SECTION before DIMENSION', () => {
      const err = parseError(['NAME: x', 'TYPE: TSP', 'EDGE_WEIGHT_TYPE: EUC_2D', 'NODE_COORD_SECTION', '1 0 0'].join('\n'));
      expect(err.message).toBe('bad.tsp:4: expected a DIMENSION line before NODE_COORD_SECTION');
    });

    it('an unknown keyword', () => {
      const err = parseError(['NAME: x', 'WEIGHTS: 3'].join('\n'));
      expect(err.message).toMatch(/^bad\.tsp:2: expected a TSPLIB keyword .*, found "WEIGHTS"$/);
    });

    it('no NODE_COORD_SECTION at all', () => {
      const err = parseError(['NAME: x', 'TYPE: TSP', 'DIMENSION: 5', 'EOF'].join('\n'));
      expect(err.message).toBe('bad.tsp:4: expected NODE_COORD_SECTION before the end of the file');
    });

    it('a file read from disk is named by its path', () => {
      expect(() => loadTsplib(`${instances}../tsplib.ts`)).toThrow(/tsplib\.ts:1: expected a "KEY: value" line/);
    });
  });
});
