/**
 * Baselines: each test/build/baselines/NAME.ts is built (all of them as one project, so
 * that cross-module calls resolve) and the emitted JavaScript must equal NAME.js byte for byte.
 * A change in the emitted code shows up as a diff to review; `UPDATE_BASELINES=1 npx vitest run
 * test/build/baselines.test.ts` rewrites the expected files after that review.
 */
import { describe, expect, test } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProject, formatDiagnostic } from '../../src/build/index.ts';
import { outRoot } from './support/build.ts';

const baselineDir = join(import.meta.dirname, 'baselines');
const outDir = join(outRoot, 'baselines');
const update = process.env['UPDATE_BASELINES'] === '1';
const names = readdirSync(baselineDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

rmSync(outDir, { recursive: true, force: true });
const result = buildProject({ rootDir: baselineDir, outDir });

describe('baselines: the emitted JavaScript of each construct is reviewed and pinned', () => {
  test('the baseline inputs build without diagnostics', () => {
    expect(result.diagnostics.map((d) => formatDiagnostic(d))).toEqual([]);
  });

  test.each(names)('%s: the emitted JavaScript equals the reviewed baseline', (name) => {
    const got = readFileSync(join(outDir, `${name}.js`), 'utf8');
    const expectedFile = join(baselineDir, `${name}.js`);
    if (update || !existsSync(expectedFile)) {
      writeFileSync(expectedFile, got);
      if (!update) throw new Error(`${name}.js did not exist: written, review it and run again`);
      return;
    }
    expect(got).toBe(readFileSync(expectedFile, 'utf8'));
  });
});
