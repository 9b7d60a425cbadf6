/** The sample's solver on a real embedded swarm: ring islands must all run at once. */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadTsplib } from '../../samples/tsp/tsplib.ts';
import { solveOnVirtualComputer } from '../../samples/tsp/cli.ts';

const eil51 = loadTsplib(fileURLToPath(new URL('../../samples/tsp/instances/eil51.tsp', import.meta.url)));

describe('solveOnVirtualComputer', () => {
  it('gives an embedded swarm enough slots for every ring island, so the ring passes its migrations', async () => {
    // 3 islands on 2 peers: one slot each would leave an island queued and its neighbour waiting forever.
    const r = await solveOnVirtualComputer({ instance: eil51, islands: 3, generations: 12, seed: 1, migration: 'ring', peers: 2 });
    expect(r.islands).toBe(3);
    expect(r.bestLength).toBeGreaterThanOrEqual(426);
    expect(r.tour).toHaveLength(51);
  }, 60_000);

  it('refuses a ring with more islands than slots, saying what to change', async () => {
    await expect(
      solveOnVirtualComputer({ instance: eil51, islands: 3, generations: 12, seed: 1, migration: 'ring', peers: 1, slotsPerWorker: 1 }),
    ).rejects.toThrow(/--migration ring needs all 3 islands running at once, but the 1 enrolled peer\(s\) have 1 slot\(s\) in all/);
  }, 60_000);
});
