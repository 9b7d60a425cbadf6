/**
 * The island code as `ppp2p build` transforms it: threads spawned on a virtual computer must come
 * from a built module, so that their frames can be checkpointed and resumed on another peer.
 * The build output goes to samples/tsp/.out (inside the package, so that its imports of 'ppp2p'
 * resolve) and is redone whenever a source is newer than it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { buildProject, formatDiagnostic } from '../../src/build/index.ts';
import type { island as islandFn } from './island.ts';

const sampleDir = fileURLToPath(new URL('.', import.meta.url));
export const builtDir = join(sampleDir, '.out');

function newestSource(): number {
  return Math.max(
    ...readdirSync(sampleDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => statSync(join(sampleDir, f)).mtimeMs),
  );
}

/** Builds island.ts (and what it imports) if needed; returns the built module's path. */
export function buildIsland(): string {
  const built = join(builtDir, 'island.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return built;
  // The thread code and the modules it imports; the CLI and bench scripts stay out of the build.
  const files = ['island.ts', 'genetic.ts', 'tsplib.ts'].map((f) => join(sampleDir, f));
  const { diagnostics } = buildProject({ rootDir: sampleDir, outDir: builtDir, files });
  if (diagnostics.length > 0) {
    throw new Error(`ppp2p build failed on samples/tsp:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  }
  return built;
}

/** The transformed `island` function, registered for `vc.spawn`. */
export async function loadBuiltIsland(): Promise<typeof islandFn> {
  const mod = (await import(pathToFileURL(buildIsland()).href)) as { island: typeof islandFn };
  return mod.island;
}
