/**
 * Assembly manager: content-addressed thread code. Ship once, cache by hash.
 *
 * An *assembly* is one built module (output of `ppp2p build`) bundled with everything it imports
 * except the ppp2p SDK itself, as one ESM file. Its name is the SHA-256 of its bytes, so two virtual
 * computers that spawn the same code name the same assembly, and a peer that has it fetches nothing.
 *
 * Life of an assembly:
 * 1. the application bundles it (client/assembly-bundler.ts) and offers the hash to its controller, which
 *    asks for the bytes only if it does not hold them ({@link AssemblyStore.put});
 * 2. a worker that is asked to run a thread of an assembly it lacks fetches it from the deployer's
 *    controller on first use ({@link AssemblyStore.install}), checks the hash, and
 * 3. installs it as `<dataDir>/assemblies/<hash>.mjs`, with the bare `ppp2p`, `ppp2p/thread` and `ppp2p/runtime`
 *    specifiers rewritten to absolute URLs of *this* peer's SDK files. The runtime must be one
 *    instance per worker thread: thread-worker.ts and the thread code import the same files.
 *
 * The SDK is kept external in the bundle for the same reason, and because a peer must run thread
 * code against its own (trusted, matching-version) runtime rather than one shipped by the owner.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assemblyHash, isAssemblyHash, type SdkSpecifier } from '../../protocol/assembly.ts';
import { packageFile } from '../../protocol/package-files.ts';
import { AssemblyHashError } from '../../protocol/errors.ts';

/** The SDK files that thread code's `ppp2p`, `ppp2p/runtime` and `ppp2p/thread` imports resolve to on this peer. */
const sdkEntries: Record<SdkSpecifier, string> = {
  ppp2p: packageFile('client/index.js').href,
  'ppp2p/runtime': packageFile('runtime/index.js').href,
  'ppp2p/thread': packageFile('runtime/thread-api.js').href,
};

/** Counters of what crossed the wire, for `ppp2p status` and the ship-once test. */
export interface AssemblyStats {
  /** Assemblies this peer holds the bytes of. */
  held: number;
  /** Assemblies received from applications (uploads). */
  uploaded: number;
  /** Assemblies fetched from other peers. */
  fetched: number;
  /** Assemblies sent to other peers. */
  served: number;
}

/**
 * One peer's assemblies: bytes held in memory to serve to workers, and installed files on disk to
 * run. `install` de-duplicates concurrent fetches of the same hash.
 */
export class AssemblyStore {
  readonly dir: string;
  readonly #code = new Map<string, Uint8Array>();
  readonly #installed = new Map<string, Promise<string>>();
  readonly #stats: AssemblyStats = { held: 0, uploaded: 0, fetched: 0, served: 0 };

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'assemblies');
  }

  get stats(): AssemblyStats {
    return { ...this.#stats, held: this.#code.size };
  }

  has(hash: string): boolean {
    return this.#code.has(hash);
  }

  /** Stores an assembly received from an application; checks its hash. */
  put(hash: string, code: Uint8Array): void {
    if (this.#code.has(hash)) return;
    verify(hash, code);
    this.#code.set(hash, code);
    this.#stats.uploaded++;
  }

  /** The bytes to send to a worker that asked for `hash`, counted as served. */
  serve(hash: string): Uint8Array | undefined {
    const code = this.#code.get(hash);
    if (code !== undefined) this.#stats.served++;
    return code;
  }

  /**
   * The path of the installed assembly, fetching its bytes with `fetch` when this peer holds neither
   * the bytes nor a valid installed file.
   */
  install(hash: string, fetch: () => Promise<Uint8Array>): Promise<string> {
    let installing = this.#installed.get(hash);
    if (installing === undefined) {
      installing = this.#install(hash, fetch);
      this.#installed.set(hash, installing);
      installing.catch(() => this.#installed.delete(hash));
    }
    return installing;
  }

  async #install(hash: string, fetch: () => Promise<Uint8Array>): Promise<string> {
    if (!isAssemblyHash(hash)) throw new AssemblyHashError(`'${hash}' is not an assembly hash.`);
    const path = join(this.dir, `${hash}.mjs`);
    // A file installed by an earlier run counts only if it was bound to this SDK install. The mark goes
    // last: a first line would shift every line of the inline source map.
    const mark = `\n// ppp2p assembly ${hash} bound to ${sdkEntries['ppp2p/runtime']}\n`;
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    if (existing?.endsWith(mark)) return path;
    let code = this.#code.get(hash);
    if (code === undefined) {
      code = await fetch();
      verify(hash, code);
      this.#stats.fetched++;
      this.#code.set(hash, code);
    }
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bindSdkImports(Buffer.from(code).toString('utf8')) + mark);
    await rename(tmp, path);
    return path;
  }
}

function verify(hash: string, code: Uint8Array): void {
  const actual = assemblyHash(code);
  if (actual !== hash) throw new AssemblyHashError(`Assembly bytes hash to ${actual}, not to their name ${hash}: refused.`);
}

/**
 * Rewrites `from "ppp2p"`, `from "ppp2p/runtime"`, `from "ppp2p/thread"`, `import "…"` and `import("…")` to this peer's
 * SDK file URLs. esbuild prints every external import in one of these forms with double quotes.
 */
export function bindSdkImports(code: string): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'])(ppp2p(?:\/runtime|\/thread)?)\2/g,
    (_m, lead: string, quote: string, spec: SdkSpecifier) => `${lead}${quote}${sdkEntries[spec]}${quote}`,
  );
}
