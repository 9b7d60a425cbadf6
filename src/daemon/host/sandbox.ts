/**
 * The donor's sandbox: how this peer starts the processes that run other people's threads.
 *
 * Three modes (`ppp2p peer --sandbox`):
 * - `strict` (the default where bubblewrap works): each executor is a child process inside bubblewrap (new user,
 *   pid, network, ipc, uts and cgroup namespaces; only /usr, this package, its dependencies and the owner's
 *   assemblies bound read-only; a private /tmp; uid nobody; no capabilities), under Node's permission model and
 *   rlimits. The IPC pipe to the daemon is its only way out.
 * - `process` (the default without bubblewrap): the same child process, permission model and rlimits, without the
 *   namespaces: the network and signals to this user's other processes stay reachable.
 * - `off`: today's worker threads inside the daemon, fastest; only with `--trusted-swarm`, for clusters where every
 *   key holder is trusted (and for the embedded local swarm, which runs the application's own code).
 *
 * Inside every sandboxed executor Node's permission model (`--experimental-permission` on Node 20) denies file
 * reads outside the package, its dependencies and the owner's assembly directory, all file writes, child processes,
 * native addons and `process.binding`. Workers stay allowed: the executor runs each thread in one (the daemon can ask
 * a thread that never yields for a snapshot only through memory shared with such a worker), and the limits below
 * count the whole process.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { dependencyRoots, packageRoot } from '../../protocol/package-files.ts';

export type SandboxMode = 'strict' | 'process' | 'off';
export const SANDBOX_MODES: readonly SandboxMode[] = ['strict', 'process', 'off'];

/** What a peer's sandbox is made of: `ppp2p peer` prints it at start, `ppp2p status` shows it. */
export interface SandboxPlan {
  mode: SandboxMode;
  /** The layers in force, in a word or two each (e.g. "bubblewrap namespaces", "permission model", "rlimit data"). */
  layers: string[];
  /** Layers that this mode would use but this machine lacks, with what to do about it. */
  missing: string[];
  /** bubblewrap's path (strict only). */
  bwrap?: string;
  /** prlimit's path, when present (sandboxed modes). */
  prlimit?: string;
}

/** Limits of one executor process and of each thread it runs. */
export interface SandboxLimits {
  /** Heap of one thread, MB (V8's old generation, per worker). */
  heapMb: number;
  /** Memory of one executor process, MB: RLIMIT_DATA, and resident size checked while a thread runs. */
  memoryMb: number;
  /** CPU seconds one thread placement may use (measured by its executor). */
  cpuSeconds?: number;
  /** Wall seconds one thread placement may run (measured by the daemon). */
  wallSeconds?: number;
  /** Bytes of stdout and stderr one thread placement may write before the rest is dropped. */
  outputBytes: number;
}

export const DEFAULT_EXECUTOR_MEMORY_MB = 2048;

/** The executor limits a usage policy (or a peer process's configuration, which names them alike) sets. */
export function limitsOf(p: { maxThreadCpuSeconds?: number; maxThreadWallSeconds?: number; maxMemoryMb?: number }): Partial<SandboxLimits> {
  return {
    ...(p.maxThreadCpuSeconds !== undefined ? { cpuSeconds: p.maxThreadCpuSeconds } : {}),
    ...(p.maxThreadWallSeconds !== undefined ? { wallSeconds: p.maxThreadWallSeconds } : {}),
    ...(p.maxMemoryMb !== undefined ? { memoryMb: p.maxMemoryMb } : {}),
  };
}
export const DEFAULT_OUTPUT_BYTES = 1 << 20;

/** Thrown at start for a mode this machine or these flags cannot give. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Root directories that hold the system's shared libraries, bound read-only into a bubblewrap sandbox. */
const SYSTEM_DIRS = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d'];

/** bubblewrap's namespace arguments: everything unshared, nobody, no capabilities, gone with its parent. */
function bwrapIsolation(): string[] {
  // No --clearenv: the environment spawn() gives is already minimal, and Node's IPC channel is named in it.
  return ['--die-with-parent', '--unshare-all', '--uid', '65534', '--gid', '65534', '--cap-drop', 'ALL', '--new-session'];
}

/** Read-only binds of `paths` (existing ones), with merged-/usr symlinks kept as symlinks. */
function bwrapBinds(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const real = realpathSync(p);
    if (real !== p && SYSTEM_DIRS.includes(p)) {
      // /lib -> usr/lib on merged-/usr systems: the link itself, or the loader finds nothing at /lib64/ld-linux.
      out.push('--symlink', real, p);
    } else {
      out.push('--ro-bind', real, p);
    }
  }
  return out;
}

let probed: { bwrap?: string; bwrapError?: string; prlimit?: string } | undefined;

/** Whether bubblewrap runs here (installed is not enough: user namespaces may be disabled). Checked once. */
function probe(): NonNullable<typeof probed> {
  if (probed !== undefined) return probed;
  const bwrap = onPath('bwrap');
  const prlimit = onPath('prlimit');
  let bwrapError: string | undefined;
  if (bwrap !== undefined) {
    const r = spawnSync(bwrap, [...bwrapIsolation(), ...bwrapBinds(SYSTEM_DIRS), '--proc', '/proc', '--dev', '/dev', realpathSync(process.execPath), '-e', ''], {
      timeout: 10_000,
      encoding: 'utf8',
    });
    if (r.status !== 0) bwrapError = (r.stderr || r.error?.message || `exit ${String(r.status ?? r.signal)}`).trim().split('\n')[0];
  }
  probed = { ...(bwrap !== undefined && bwrapError === undefined ? { bwrap } : {}), ...(bwrapError !== undefined ? { bwrapError } : {}), ...(prlimit !== undefined ? { prlimit } : {}) };
  return probed;
}

/**
 * The sandbox this peer runs with: `requested` (or the best this machine has), checked against the flags.
 * `off` needs `trustedSwarm`; `strict` needs a working bubblewrap.
 */
export function planSandbox(requested: SandboxMode | undefined, trustedSwarm: boolean): SandboxPlan {
  if (requested === 'off') {
    if (!trustedSwarm) {
      throw new SandboxUnavailableError(
        "--sandbox off runs other key holders' code with this peer's full rights; add --trusted-swarm if every holder of the swarm key is trusted, or use --sandbox process",
      );
    }
    return { mode: 'off', layers: ['none: threads run in worker threads of the daemon (--trusted-swarm)'], missing: [] };
  }
  const p = probe();
  const missing: string[] = [];
  if (requested === 'strict' && p.bwrap === undefined) {
    throw new SandboxUnavailableError(
      p.bwrapError !== undefined
        ? `--sandbox strict: bubblewrap does not run here (${p.bwrapError}); allow unprivileged user namespaces, or use --sandbox process`
        : '--sandbox strict needs bubblewrap: install it (apt-get install bubblewrap), or use --sandbox process',
    );
  }
  const mode: SandboxMode = requested ?? (p.bwrap !== undefined ? 'strict' : 'process');
  const layers: string[] = [];
  if (mode === 'strict') layers.push('bubblewrap (user, pid, network, ipc namespaces; read-only binds; uid nobody; no capabilities)');
  else {
    missing.push(
      p.bwrap === undefined
        ? `bubblewrap${p.bwrapError !== undefined ? ` (does not run: ${p.bwrapError})` : ' (not installed: apt-get install bubblewrap)'}: threads can open network connections and signal this user's processes`
        : 'bubblewrap (installed, not used by --sandbox process): threads can open network connections and signal this user\'s processes',
    );
  }
  layers.push('separate process per slot and owner', 'Node permission model (no reads outside the code, no writes, no child processes, no addons)');
  if (p.prlimit !== undefined) layers.push('rlimits (data size, core dumps, open files)');
  else missing.push('prlimit (util-linux): no RLIMIT_DATA; memory is bounded by the resident-size check only');
  layers.push('nice 10', 'per-thread CPU, memory and wall limits');
  return { mode, layers, missing, ...(mode === 'strict' ? { bwrap: p.bwrap } : {}), ...(p.prlimit !== undefined ? { prlimit: p.prlimit } : {}) };
}

/** How to start one executor process for one owner: the command, its arguments and its environment. */
export function executorCommand(
  plan: SandboxPlan,
  limits: SandboxLimits,
  entry: string,
  assemblyDir: string,
): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (plan.mode === 'off') throw new Error('executorCommand: sandbox off runs threads in worker threads, not processes');
  // Compiled code only (package-files.ts compiledPackageFile says why): the package root holds dist/.
  const root = packageRoot();
  // From source the runtime loads through tsx and its dependencies; compiled, through msgpackr only.
  const readable = [root, ...dependencyRoots(['msgpackr']), `${assemblyDir}/`];
  const node = realpathSync(process.execPath);
  const nodeArgs = [
    '--experimental-permission',
    ...readable.map((p) => `--allow-fs-read=${p}`),
    '--allow-worker',
    '--no-warnings',
    '--enable-source-maps',
    entry,
  ];
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', NODE_ENV: process.env.NODE_ENV ?? 'production' };
  let argv = [node, ...nodeArgs];
  if (plan.prlimit !== undefined) {
    argv = [plan.prlimit, `--data=${limits.memoryMb * 1024 * 1024}`, '--core=0', '--nofile=256', '--', ...argv];
  }
  argv = ['nice', '-n', '10', ...argv];
  if (plan.mode === 'strict') {
    const binds = [...SYSTEM_DIRS, dirname(node), ...readable.map((p) => p.replace(/\/$/, ''))];
    // The private /tmp first: a bind under /tmp (a data dir there) must be mounted over it, not hidden by it.
    argv = [plan.bwrap!, ...bwrapIsolation(), '--tmpfs', '/tmp', ...bwrapBinds(binds), '--proc', '/proc', '--dev', '/dev', '--chdir', '/', ...argv];
  }
  return { command: argv[0]!, args: argv.slice(1), env };
}
