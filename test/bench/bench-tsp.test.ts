import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childNodeOptions } from '../../src/protocol/package-files.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A short bench run does a fixed amount of work (12 peer runs of a few generations, ~40 s on an idle 2-core VM); on a
 * loaded machine it takes longer, not differently. The test waits for the child as long as the child may take.
 */
const BENCH_RUN_LIMIT_MS = 240_000;

function benchTsp(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...childNodeOptions(), 'bench/tsp.ts', ...args], { cwd: root, encoding: 'utf8', timeout: BENCH_RUN_LIMIT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run bench:tsp', () => {
  it('measures each peer alone and both together, and writes the JSON and the chart', { timeout: BENCH_RUN_LIMIT_MS + 10_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'ppp2p-bench-tsp-test-'));
    try {
      const r = benchTsp(['--sizes', '30', '--tasks', '3', '--generations', '3', '--repeats', '2', '--setups', 'local', '--quality-generations', '3', '--quality-seeds', '1', '--out', out]);
      expect(r.stderr).toContain('local n=30: peer 2 alone');
      expect(r.status).toBe(0);
      const printed = JSON.parse(r.stdout) as {
        setups: { setup: string; sizes: {
          size: number;
          aloneSeconds: number[];
          togetherSeconds: number;
          islandsPerPeer: number[];
          efficiency: number;
          maxSpeedup: number;
          efficiencyRange: [number, number];
          repeats: { efficiency: number; aloneSeconds: number[]; togetherSeconds: number; probeMs: { alone: number[]; together: number }; cpuBound?: { seconds: number; efficiency: number } }[];
        }[];
      }[];
        quality: { rows: { instance: string; bestLength: number; gapPercent: number }[] };
      };
      expect(JSON.parse(readFileSync(join(out, 'tsp.json'), 'utf8'))).toEqual(printed);
      const [local] = printed.setups;
      expect(local!.setup).toBe('local');
      const [point] = local!.sizes;
      expect(point!.size).toBe(30);
      expect(point!.aloneSeconds).toHaveLength(2);
      // Every island ran on one of the two workers.
      expect(point!.islandsPerPeer.reduce((a, b) => a + b, 0)).toBe(3);
      expect(point!.efficiency).toBeGreaterThan(0);
      expect(point!.maxSpeedup).toBeGreaterThanOrEqual(1);
      // Each repeat has its own runs and efficiency; the reported point is the repeat of median efficiency.
      expect(point!.repeats).toHaveLength(2);
      for (const rep of point!.repeats) {
        expect(rep.aloneSeconds).toHaveLength(2);
        expect(rep.probeMs.alone).toHaveLength(2);
        expect(rep.probeMs.together).toBeGreaterThan(0);
        // The ceiling the cores put on the run together (Linux: CPU from /proc). CPU seconds over the cores can
        // only be less than the time the run took (up to /proc's 10 ms ticks per process).
        if (process.platform === 'linux') {
          const bound = rep.cpuBound!;
          expect(bound.seconds).toBeGreaterThan(0);
          expect(bound.seconds).toBeLessThanOrEqual(rep.togetherSeconds + 0.05);
          const expected = 1 / (bound.seconds * rep.aloneSeconds.reduce((a, t) => a + 1 / t, 0));
          expect(Math.abs(bound.efficiency - expected) / expected).toBeLessThan(0.01);
        }
      }
      expect(point!.repeats.map((r) => r.efficiency)).toContain(point!.efficiency);
      expect(point!.efficiencyRange[0]).toBeLessThanOrEqual(point!.efficiency);
      expect(point!.efficiencyRange[1]).toBeGreaterThanOrEqual(point!.efficiency);
      expect(printed.quality.rows.map((q) => q.instance)).toEqual(['eil51', 'berlin52', 'kroA100']);
      for (const q of printed.quality.rows) expect(q.gapPercent).toBeGreaterThanOrEqual(0);
      const svg = readFileSync(join(out, 'tsp-speedup.svg'), 'utf8');
      expect(svg).toContain('<polyline');
      expect(svg).toContain('>local<');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('rejects a migration mode whose islands cannot queue, naming the flag', () => {
    const r = benchTsp(['--migration', 'ring']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--migration must be global or none/);
    expect(r.stderr).toContain('usage: npm run bench:tsp');
  });

  it('rejects unknown setups and flags', () => {
    expect(benchTsp(['--setups', 'local,moon']).stderr).toMatch(/--setups takes local, heterogeneous, hosts; found 'moon'/);
    const r = benchTsp(['--sizez', '10']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--sizez'/);
  });
});
