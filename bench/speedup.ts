/**
 * Speedup and efficiency on heterogeneous peers, as the paper measured them (Donaldson et al.), and the
 * chart that shows them (the paper's Figure 4: speedup against problem size, dashed lines at the maximum
 * speedup the peers' own rates allow).
 *
 * R = problem size / time. Each peer's rate R_i is measured with that peer alone; R_H is the rate of all
 * of them together. S_H = R_H / R_fastest, S_H,max = sum(R_i) / R_fastest, efficiency = S_H / S_H,max.
 * On identical peers this is the usual speedup (S_H,max = H); with one peer at half speed and one at full,
 * S_H,max is 1.5, and reaching 1.5 means the slow peer was used as well as it could be.
 */

export interface SpeedupPoint {
  /** Problem size (cities). */
  size: number;
  /** Processing rate of each peer alone, size / seconds. */
  aloneRates: number[];
  /** Processing rate of all peers together. */
  rate: number;
  /** S_H = R_H / R_fastest. */
  speedup: number;
  /** S_H,max = sum(R_i) / R_fastest. */
  maxSpeedup: number;
  /** S_H / S_H,max. */
  efficiency: number;
}

/** Donaldson's figures for one problem size from the seconds each peer took alone and the seconds all took together. */
export function speedupPoint(size: number, aloneSeconds: readonly number[], togetherSeconds: number): SpeedupPoint {
  if (aloneSeconds.length === 0) throw new RangeError('speedupPoint needs the time of at least one peer alone');
  for (const s of [...aloneSeconds, togetherSeconds]) {
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`times must be positive and finite, found ${s}`);
  }
  const aloneRates = aloneSeconds.map((s) => size / s);
  const fastest = Math.max(...aloneRates);
  const rate = size / togetherSeconds;
  const speedup = rate / fastest;
  const maxSpeedup = aloneRates.reduce((a, b) => a + b, 0) / fastest;
  return { size, aloneRates, rate, speedup, maxSpeedup, efficiency: speedup / maxSpeedup };
}

export interface ChartSeries {
  label: string;
  points: readonly Pick<SpeedupPoint, 'size' | 'speedup' | 'maxSpeedup'>[];
}

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A "nice" tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}

/**
 * An SVG line chart like the paper's Figure 4: for each setup, measured speedup against problem size as
 * a solid line with markers, and its maximum speedup as a dashed line in the same colour.
 */
export function speedupChart(series: readonly ChartSeries[], title: string): string {
  const width = 720;
  const height = 440;
  const margin = { left: 64, right: 200, top: 48, bottom: 56 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.size));
  const maxY = Math.max(1, ...all.flatMap((p) => [p.speedup, p.maxSpeedup]));
  const xStep = tickStep(maxX, 6);
  const xTop = Math.ceil(maxX / xStep) * xStep;
  const yStep = tickStep(maxY, 5);
  const yTop = Math.ceil((maxY * 1.05) / yStep) * yStep;
  const x = (v: number): number => margin.left + (v / xTop) * plotW;
  const y = (v: number): number => margin.top + plotH - (v / yTop) * plotH;
  const f = (v: number): string => v.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left + plotW / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  );
  for (let v = 0; v <= xTop + 1e-9; v += xStep) {
    out.push(
      `<line x1="${f(x(v))}" y1="${margin.top}" x2="${f(x(v))}" y2="${margin.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(x(v))}" y="${margin.top + plotH + 18}" text-anchor="middle">${Number(v.toPrecision(6))}</text>`,
    );
  }
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    out.push(
      `<line x1="${margin.left}" y1="${f(y(v))}" x2="${margin.left + plotW}" y2="${f(y(v))}" stroke="#eee"/>`,
      `<text x="${margin.left - 8}" y="${f(y(v) + 4)}" text-anchor="end">${Number(v.toPrecision(6))}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle">problem size (cities)</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">speedup S_H</text>`,
  );
  series.forEach((s, i) => {
    const colour = palette[i % palette.length]!;
    const pts = [...s.points].sort((a, b) => a.size - b.size);
    const line = (key: 'speedup' | 'maxSpeedup'): string => pts.map((p) => `${f(x(p.size))},${f(y(p[key]))}`).join(' ');
    out.push(
      `<polyline points="${line('maxSpeedup')}" fill="none" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<polyline points="${line('speedup')}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...pts.map((p) => `<circle cx="${f(x(p.size))}" cy="${f(y(p.speedup))}" r="3.5" fill="${colour}"/>`),
    );
    const ly = margin.top + 10 + i * 36;
    const lx = margin.left + plotW + 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.label)}</text>`,
      `<line x1="${lx}" y1="${ly + 16}" x2="${lx + 24}" y2="${ly + 16}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${lx + 30}" y="${ly + 20}" fill="#555">maximum</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
