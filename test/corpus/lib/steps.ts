// Checkpointable helpers shared by several corpus programs: callers in other modules must be
// transformed into frames that keep these callees' frames.
import { checkpoint } from 'ppp2p';

/** Records `label`, checkpoints, records again, and returns how long the trace has grown. */
export async function step(trace: unknown[], label: string): Promise<number> {
  trace.push(`${label}:enter`);
  await checkpoint();
  trace.push(`${label}:leave`);
  return trace.length;
}

/** Sums 1..n recursively, with a checkpoint in every call. */
export async function sumTo(n: number): Promise<number> {
  await checkpoint();
  if (n <= 0) return 0;
  const rest = await sumTo(n - 1);
  return n + rest;
}

/** A value class whose instances live across checkpoints in the callers' locals. */
export class Tally {
  counts: Record<string, number> = {};
  history: string[] = [];

  add(key: string, by = 1): number {
    this.counts[key] = (this.counts[key] ?? 0) + by;
    this.history.push(`${key}+${by}`);
    return this.counts[key];
  }

  /** A checkpointable method: `this` must be restored from the frame. */
  async addSlowly(key: string, by: number): Promise<number> {
    await checkpoint();
    const now = this.add(key, by);
    await checkpoint();
    return now * 10;
  }

  summary(): string {
    return Object.entries(this.counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }
}
