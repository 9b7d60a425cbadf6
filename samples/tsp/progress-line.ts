/**
 * The live progress line of a TSP run: generation, best length, gap to the optimum, peers, tour
 * exchanges between islands and thread migrations between peers. On a terminal it redraws one
 * line; into a pipe or a log it writes a line at most once a second, so CI logs stay readable.
 */
import type { IslandProgress } from './island.ts';

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressLine {
  readonly #out: Writable;
  readonly #opts: { generations: number; islands: number; optimum?: number };
  readonly #generation = new Map<number, number>();
  readonly #exchanges = new Map<number, number>();
  #best = Infinity;
  #peers = 0;
  /** Peers the islands moved away from because they died or left: no longer part of the count. */
  readonly #gone = new Set<string>();
  #moved = 0;
  #started = performance.now();
  #lastDraw = 0;

  constructor(opts: { generations: number; islands: number; optimum?: number }, out: Writable) {
    this.#opts = opts;
    this.#out = out;
  }

  started(peers: number): void {
    this.#peers = peers;
    this.#started = performance.now();
    this.#out.write(`virtual computer ready: ${peers} peer(s), ${this.#opts.islands} island(s)\n`);
  }

  progress(p: IslandProgress): void {
    this.#generation.set(p.island, p.generation);
    this.#exchanges.set(p.island, p.migrations);
    if (p.bestLength < this.#best) this.#best = p.bestLength;
    this.#draw(false);
  }

  migrated(m: { island: number; from: string; to: string; reason: string }): void {
    this.#moved++;
    if (m.reason === 'failure' || m.reason === 'leave') this.#gone.add(m.from);
    this.#draw(true);
    this.#out.write(`island ${m.island} moved from peer ${m.from.slice(0, 8)} to ${m.to.slice(0, 8)} (${m.reason}), resuming from its last checkpoint\n`);
  }

  finish(): void {
    this.#draw(true);
    if (this.#out.isTTY === true) this.#out.write('\n');
  }

  #text(): string {
    const gens = [...this.#generation.values()];
    const gen = gens.length === 0 ? 0 : Math.min(...gens);
    const best = Number.isFinite(this.#best) ? String(this.#best) : '-';
    const optimum = this.#opts.optimum;
    const gap = optimum !== undefined && Number.isFinite(this.#best) ? ` gap ${(((this.#best - optimum) / optimum) * 100).toFixed(2)}%` : '';
    let exchanges = 0;
    for (const n of this.#exchanges.values()) exchanges += n;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    return `gen ${gen}/${this.#opts.generations}  best ${best}${gap}  peers ${this.#peers - this.#gone.size}  exchanges ${exchanges}  moved ${this.#moved}  ${secs}s`;
  }

  #draw(force: boolean): void {
    const now = performance.now();
    if (this.#out.isTTY === true) {
      if (!force && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      this.#out.write(`\r\x1b[2K${this.#text()}`);
    } else {
      if (!force && now - this.#lastDraw < 1000) return;
      this.#lastDraw = now;
      this.#out.write(`${this.#text()}\n`);
    }
  }
}
