import { describe, expect, it } from 'vitest';
import { speedupChart, speedupPoint } from '../../bench/speedup.ts';

describe("Donaldson's heterogeneous speedup", () => {
  it('is the usual speedup on identical peers', () => {
    const p = speedupPoint(1000, [20, 20], 10);
    expect(p.aloneRates).toEqual([50, 50]);
    expect(p.rate).toBe(100);
    expect(p.speedup).toBe(2);
    expect(p.maxSpeedup).toBe(2);
    expect(p.efficiency).toBe(1);
  });

  it('measures against the fastest peer and the sum of all rates', () => {
    // A full-speed and a half-speed peer: at most 1.5 times the fastest alone.
    const p = speedupPoint(600, [10, 20], 8);
    expect(p.aloneRates).toEqual([60, 30]);
    expect(p.speedup).toBeCloseTo(75 / 60, 12);
    expect(p.maxSpeedup).toBeCloseTo(1.5, 12);
    expect(p.efficiency).toBeCloseTo(75 / 90, 12);
  });

  it('does not depend on the order of the peers', () => {
    expect(speedupPoint(100, [3, 7, 5], 2)).toMatchObject({
      speedup: speedupPoint(100, [7, 5, 3], 2).speedup,
      maxSpeedup: speedupPoint(100, [5, 3, 7], 2).maxSpeedup,
    });
  });

  it('refuses times that cannot be rates', () => {
    expect(() => speedupPoint(100, [], 1)).toThrow(/at least one peer/);
    expect(() => speedupPoint(100, [1, 0], 1)).toThrow(/positive and finite/);
    expect(() => speedupPoint(100, [1], Number.NaN)).toThrow(/positive and finite/);
  });
});

describe('speedup chart', () => {
  const svg = speedupChart(
    [
      { label: 'local', points: [speedupPoint(500, [10, 10], 5.2), speedupPoint(100, [2, 2], 1.4)] },
      { label: 'slow & <fast>', points: [speedupPoint(500, [10, 20], 7)] },
    ],
    'a title',
  );

  it('draws a solid line with markers and a dashed maximum per setup', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg.match(/<polyline (?![^>]*stroke-dasharray)/g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(3);
  });

  it('draws points in order of problem size and escapes labels', () => {
    const solid = /<polyline points="([^"]+)" fill="none" stroke="#1f77b4" stroke-width="2"/.exec(svg)![1]!;
    const xs = solid.split(' ').map((pt) => Number(pt.split(',')[0]));
    expect(xs[0]).toBeLessThan(xs[1]!);
    expect(svg).toContain('slow &#38; &#60;fast&#62;');
    expect(svg).not.toContain('<fast>');
  });
});
