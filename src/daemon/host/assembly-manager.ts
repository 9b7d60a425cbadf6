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
 * 3. installs it as `<dataDir>/assemblies/<owner>/<hash>.mjs`, with the bare `ppp2p`, `ppp2p/thread` and
 *    `ppp2p/runtime` specifiers rewritten to absolute URLs of *this* peer's SDK files. The runtime must be one
 *    instance per worker thread: thread-worker.ts and the thread code import the same files.
 * 4. checks the installed file every time a thread is started from it ({@link AssemblyStore.load}): its inode, size,
 *    mtime and ctime against those it was written with (a synchronous stat, no I/O round trip on the dispatch path),
 *    and, if any differs, its SHA-256 against the digest it was written with; a changed file is re-installed from
 *    the bytes. Any write to a file changes its ctime, which only root can set back (and root owns the daemon).
 *    A thread of an already warm executor may not load the file at all: it checks all the same.
 *
 * One directory per owner: a sandboxed executor may read its owner's directory and nothing else of the data dir,
 * and writes nowhere, so one owner's threads can neither read nor replace another owner's code.
 *
 * The SDK is kept external in the bundle for the same reason, and because a peer must run thread
 * code against its own (trusted, matching-version) runtime rather than one shipped by the owner.
 */
import { statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { assemblyHash, isAssemblyHash, type SdkSpecifier } from '../../protocol/assembly.ts';
import { compiledPackageFile, packageFile } from '../../protocol/package-files.ts';
import { AssemblyHashError } from '../../protocol/errors.ts';

/**
 * The SDK files that thread code's `ppp2p`, `ppp2p/runtime` and `ppp2p/thread` imports resolve to on this peer: the
 * daemon's own form for worker threads of the daemon, compiled for sandboxed executors (which always run compiled).
 */
function sdkEntriesFor(compiled: boolean): Record<SdkSpecifier, string> {
  const file = compiled ? compiledPackageFile : packageFile;
  return { ppp2p: file('client/index.js').href, 'ppp2p/runtime': file('runtime/index.js').href, 'ppp2p/thread': file('runtime/thread-api.js').href };
}

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
  /** Installs by `<owner>/<hash>`: the path and the SHA-256 of the file as written. */
  readonly #installed = new Map<string, Promise<Installed>>();
  readonly #stats: AssemblyStats = { held: 0, uploaded: 0, fetched: 0, served: 0 };

  readonly #sdk: Record<SdkSpecifier, string>;

  /** `compiledSdk`: thread code runs in sandboxed executors, which load the compiled SDK. */
  constructor(dataDir: string, opts: { compiledSdk?: boolean } = {}) {
    this.#sdk = sdkEntriesFor(opts.compiledSdk ?? false);
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

  /** The directory of `owner`'s installed assemblies (an owner id is hex: safe as a file name). */
  ownerDir(owner: string): string {
    if (!/^[0-9a-f]{1,64}$/.test(owner)) throw new TypeError(`'${owner}' is not a peer id`);
    return join(this.dir, owner);
  }

  /**
   * The path of `owner`'s installed copy of the assembly, fetching its bytes with `fetch` when this peer holds
   * neither the bytes nor a valid installed file. The file is checked against its digest on every call.
   */
  async load(hash: string, owner: string, fetch: () => Promise<Uint8Array>): Promise<string> {
    const key = `${owner}/${hash}`;
    let installing = this.#installed.get(key);
    if (installing === undefined) {
      installing = this.#install(hash, owner, fetch);
      this.#installed.set(key, installing);
      installing.catch(() => this.#installed.delete(key));
    }
    const installed = await installing;
    const { path, digest } = installed;
    const stat = statOf(path);
    if (stat !== undefined && stat === installed.stat) return path;
    const now = await readFile(path).catch(() => undefined);
    if (now !== undefined && sha256(now) === digest) {
      installed.stat = stat; // the same bytes, touched (copied back, utimes): their new stat stands for them now
      return path;
    }
    // Changed or gone since it was installed: nothing of it is trusted, the bytes are installed again.
    this.#installed.delete(key);
    const again = this.#install(hash, owner, fetch);
    this.#installed.set(key, again);
    again.catch(() => this.#installed.delete(key));
    return (await again).path;
  }

  async #install(hash: string, owner: string, fetch: () => Promise<Uint8Array>): Promise<Installed> {
    if (!isAssemblyHash(hash)) throw new AssemblyHashError(`'${hash}' is not an assembly hash.`);
    const dir = this.ownerDir(owner);
    const path = join(dir, `${hash}.mjs`);
    // Installed only from bytes that hash to their name (held, or fetched now): a file left by an earlier run is not
    // trusted, whatever it says.
    let code = this.#code.get(hash);
    if (code === undefined) {
      code = await fetch();
      verify(hash, code);
      this.#stats.fetched++;
      this.#code.set(hash, code);
    }
    await mkdir(dir, { recursive: true });
    const text = Buffer.from(bindSdkImports(Buffer.from(code).toString('utf8'), this.#sdk));
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, path);
    return { path, digest: sha256(text), stat: statOf(path) };
  }
}

/** An installed assembly file: where, the SHA-256 of what was written, and its stat then (see {@link statOf}). */
interface Installed {
  path: string;
  digest: string;
  stat: string | undefined;
}

/** What of a file's stat changes with any write to it, as one string; undefined if it is gone. */
function statOf(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function verify(hash: string, code: Uint8Array): void {
  const actual = assemblyHash(code);
  if (actual !== hash) throw new AssemblyHashError(`Assembly bytes hash to ${actual}, not to their name ${hash}: refused.`);
}

/**
 * Rewrites `from "ppp2p"`, `from "ppp2p/runtime"`, `from "ppp2p/thread"`, `import "…"` and `import("…")` to this peer's
 * SDK file URLs. esbuild prints every external import in one of these forms with double quotes.
 */
export function bindSdkImports(code: string, sdk: Record<SdkSpecifier, string> = sdkEntriesFor(false)): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'])(ppp2p(?:\/runtime|\/thread)?)\2/g,
    (_m, lead: string, quote: string, spec: SdkSpecifier) => `${lead}${quote}${sdk[spec]}${quote}`,
  );
}
