/**
 * The embedded local swarm: what `VirtualComputer.create({ workers })` starts when given no controller, so that
 * a newcomer needs no set-up at all. It is a controller for the application (a peer that runs no threads) plus
 * `workers` peers that join it, each a child process on loopback, all sharing a fresh swarm key. The application
 * talks to its controller as any application does: through the protocol, as a client.
 *
 * Cleanup: `stop()` stops the children and removes their data directories. If the application exits without
 * calling it, an exit hook kills the children; if the application is killed (SIGKILL), each child notices its stdin
 * pipe closing and exits by itself (see daemon/embedded-peer.ts).
 * @internal Used by VirtualComputer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../protocol/connection.ts';
import type { LogLevel } from '../protocol/log.ts';
import { startPeerProcess, type PeerProcess } from './peer-process.ts';

export interface EmbeddedSwarmOptions {
  /** Child peer processes to start. */
  workers: number;
  /** Slots of each child. @default 1 */
  slotsPerWorker?: number;
  /** How its peers isolate threads. @default 'off': the local swarm runs the application's own code */
  sandbox?: 'strict' | 'process' | 'off';
  /** @default 'warn' */
  logLevel?: LogLevel;
  /** Time for every child to start and join. @default 30000 */
  startTimeoutMs?: number;
}

/** Children of every embedded swarm of this process, killed by the exit hook. */
const live = new Set<PeerProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only 'exit': a signal handler would change how the application reacts to ^C. Children of an application
  // killed by a signal notice their stdin closing instead.
  process.on('exit', () => {
    for (const p of live) p.child.kill('SIGKILL');
  });
}

export class EmbeddedSwarm {
  readonly swarmKey: Uint8Array;
  /** The application's controller: a peer with no slots. */
  readonly controller: PeerProcess;
  readonly peers: readonly PeerProcess[];
  readonly #dir: string;
  #stopped: Promise<void> | undefined;

  private constructor(swarmKey: Uint8Array, controller: PeerProcess, peers: PeerProcess[], dir: string) {
    this.swarmKey = swarmKey;
    this.controller = controller;
    this.peers = peers;
    this.#dir = dir;
  }

  /** The controller's URL: what the application connects to. */
  get url(): string {
    return this.controller.url;
  }

  /** The directory holding the swarm's files (removed by stop()). */
  get dir(): string {
    return this.#dir;
  }

  get pids(): number[] {
    return this.peers.map((p) => p.pid);
  }

  static async start(opts: EmbeddedSwarmOptions): Promise<EmbeddedSwarm> {
    installExitHook();
    const swarmKey = randomBytes(32);
    const key = Buffer.from(swarmKey).toString('base64');
    const dir = mkdtempSync(join(tmpdir(), 'ppp2p-embedded-'));
    const logLevel = opts.logLevel ?? 'warn';
    const started: PeerProcess[] = [];
    const track = (p: PeerProcess): PeerProcess => {
      live.add(p);
      void p.exited.then(() => live.delete(p));
      started.push(p);
      return p;
    };
    const common = {
      swarmKey: key,
      // A child removes its own files even when the application is killed and cannot...
      removeDataDir: true,
      // ...and, if the application is killed, the whole swarm's directory.
      orphanCleanup: [dir],
      logLevel,
      // The local swarm runs the application's own code, on its own machine: nothing to isolate it from.
      sandbox: opts.sandbox ?? 'off',
      trustedSwarm: (opts.sandbox ?? 'off') === 'off',
    };
    try {
      // The application's own controller runs no threads: the other peers are the workers.
      const controller = track(await startPeerProcess({ ...common, slots: 0, dataDir: join(dir, 'controller') }));
      const all = await Promise.allSettled(
        Array.from({ length: opts.workers }, (_, i) =>
          startPeerProcess({ ...common, join: [controller.url], slots: opts.slotsPerWorker ?? 1, dataDir: join(dir, `peer-${i}`) }).then(track),
        ),
      );
      const failed = all.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      const workers = started.filter((p) => p !== controller);
      await waitForMembers(controller.url, swarmKey, new Set(workers.map((p) => p.peerId)), opts.startTimeoutMs ?? 30_000);
      return new EmbeddedSwarm(swarmKey, controller, workers, dir);
    } catch (err) {
      await Promise.all(started.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Stops the children and removes the swarm's files. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.all(this.peers.map((p) => p.stop()));
      await this.controller.stop();
      rmSync(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

/** How often the launcher asks the controller who has joined while the swarm forms. */
const MEMBERS_POLL_MS = 50;

/** Resolves once every id in `ids` is an alive member of the controller's swarm, as the controller itself says. */
async function waitForMembers(url: string, swarmKey: Uint8Array, ids: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  const conn = await connect(url, { swarmKey, role: 'client' });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const reply = await conn.request({ t: 'members' });
      const alive = new Set(reply.peers.filter((p) => p.state === 'alive').map((p) => p.id));
      const missing = [...ids].filter((id) => !alive.has(id));
      if (missing.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(`The embedded swarm did not form within ${timeoutMs} ms: peers ${missing.join(', ')} never joined.`);
      }
      await new Promise((resolve) => setTimeout(resolve, MEMBERS_POLL_MS));
    }
  } finally {
    conn.close();
  }
}
