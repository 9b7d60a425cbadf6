/**
 * The application's side of the assembly manager: bundles a built module (output of `ppp2p build`) with everything it
 * imports except the ppp2p SDK into one ESM file, named by its hash (protocol/assembly.ts), to offer to the controller.
 * @internal Used by VirtualComputer.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assemblyHash, SDK_SPECIFIERS, type Assembly } from '../protocol/assembly.ts';

const bundles = new Map<string, Promise<Assembly>>();

/**
 * Bundles the built module at `moduleUrl` (a file URL) into an assembly, once per process.
 * Source maps of the input (from `ppp2p build`) are carried through inline, so a thread's stack
 * trace on any peer points at the user's `.ts` lines.
 */
export function bundleAssembly(moduleUrl: string): Promise<Assembly> {
  let bundle = bundles.get(moduleUrl);
  if (bundle === undefined) {
    bundle = runBundler(moduleUrl);
    bundles.set(moduleUrl, bundle);
    // A failed bundle (file changed, syntax error) may succeed on a later spawn.
    bundle.catch(() => bundles.delete(moduleUrl));
  }
  return bundle;
}

async function runBundler(moduleUrl: string): Promise<Assembly> {
  if (!moduleUrl.startsWith('file:')) {
    throw new Error(`Cannot ship ${moduleUrl}: thread code must be a built module on the local disk (a file: URL).`);
  }
  const esbuild = await import('esbuild');
  const entry = fileURLToPath(moduleUrl);
  const dir = dirname(entry);
  const result = await esbuild.build({
    entryPoints: [entry],
    // Never written: it only makes the source map's paths relative to the module's directory.
    outfile: join(dir, '__ppp2p_assembly.mjs'),
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The SDK stays external: each peer binds these to its own SDK files (see the module doc).
    external: [...SDK_SPECIFIERS],
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = result.outputFiles.find((o) => o.path.endsWith('.mjs'));
  const map = result.outputFiles.find((o) => o.path.endsWith('.map'));
  if (js === undefined || map === undefined) throw new Error(`Bundling ${moduleUrl} produced no output.`);
  // Sources become absolute file URLs, so a stack trace on any peer names the user's own files
  // (`/home/me/app/src/island.ts:12`) rather than paths relative to wherever the peer cached the assembly.
  const sourceMap = JSON.parse(map.text) as { sources: string[]; sourceRoot?: string };
  sourceMap.sources = sourceMap.sources.map((s) => pathToFileURL(resolve(dir, s)).href);
  delete sourceMap.sourceRoot;
  const inline = Buffer.from(JSON.stringify(sourceMap)).toString('base64');
  const text = js.text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  const code = new TextEncoder().encode(`${text}//# sourceMappingURL=data:application/json;base64,${inline}\n`);
  return { hash: assemblyHash(code), code };
}
