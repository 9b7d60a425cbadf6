/**
 * The short version of `npm run chaos` (test/chaos/run.ts): a few seconds of random SIGKILLs against running
 * checkpointing jobs; every thread must return the undisturbed result with the undisturbed progress, each once.
 */
import { expect, it } from 'vitest';
import { runChaos } from './run.ts';

it('random SIGKILLs during running jobs change no result and lose or repeat no progress value', async () => {
  const report = await runChaos({ durationS: 6, workers: 3, threads: 2, steps: 300, minGapMs: 1200, maxGapMs: 2200, seed: 11, verbose: false });
  expect(report.mismatches).toEqual([]);
  expect(report.kills.sigkill).toBeGreaterThanOrEqual(2);
  expect(report.ok).toBe(true);
}, 120_000);
