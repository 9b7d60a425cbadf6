/**
 * The embedded local swarm: what `VirtualComputer.create({ workers })` starts when given no controller, so that
 * a newcomer needs no set-up at all. It is an in-process controller for the application (it runs no threads)
 * plus `workers` child peer processes on loopback that join it, all sharing a fresh swarm key.
 *
 * Cleanup: `stop()` stops the children and the controller and removes their data directories. If the
 * application exits without calling it, an exit hook kills the children; if the application is killed
 * (SIGKILL), each child notices its stdin pipe closing and exits by itself (see embedded-peer.ts).
 * @internal Used by VirtualComputer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerController } from '../peer-controller/peer.ts';
import { VirtualComputerLayer } from '../peer-controller/deployer.ts';
import { startPeerProcess, type PeerProcess } from '../peer-controller/embedded-peer.ts';
import type { LogLevel } from '../peer-controller/log.ts';

export interface EmbeddedSwarmOptions {
  /** Child peer processes to start. */
  workers: number;
  /** Slots of each child. @default 1 */
  slotsPerWorker?: number;
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
  readonly controller: PeerController;
  readonly layer: VirtualComputerLayer;
  readonly peers: readonly PeerProcess[];
  readonly #dir: string;
  #stopped: Promise<void> | undefined;

  private constructor(swarmKey: Uint8Array, controller: PeerController, layer: VirtualComputerLayer, peers: PeerProcess[], dir: string) {
    this.swarmKey = swarmKey;
    this.controller = controller;
    this.layer = layer;
    this.peers = peers;
    this.#dir = dir;
  }

  /** The in-process controller's URL: what the application connects to. */
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
    const dir = mkdtempSync(join(tmpdir(), 'ppp2p-embedded-'));
    const logLevel = opts.logLevel ?? 'warn';
    const controller = await PeerController.start({ swarmKey, host: '127.0.0.1', port: 0, dataDir: join(dir, 'controller'), logLevel, slots: 0 });
    // The application's own controller runs no threads: the child peers are the workers.
    const layer = VirtualComputerLayer.attach(controller, { slots: 0 });
    const started: PeerProcess[] = [];
    try {
      const all = await Promise.allSettled(
        Array.from({ length: opts.workers }, (_, i) =>
          startPeerProcess({
            swarmKey: Buffer.from(swarmKey).toString('base64'),
            join: [controller.url],
            slots: opts.slotsPerWorker ?? 1,
            dataDir: join(dir, `peer-${i}`),
            // A child removes its own files even when the application is killed and cannot.
            removeDataDir: true,
            // ...and, if the application is killed, the whole swarm's directory.
            orphanCleanup: [dir],
            logLevel,
          }).then((p) => {
            live.add(p);
            void p.exited.then(() => live.delete(p));
            started.push(p);
            return p;
          }),
        ),
      );
      const failed = all.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      await waitForMembers(controller, new Set(started.map((p) => p.peerId)), opts.startTimeoutMs ?? 30_000);
      return new EmbeddedSwarm(swarmKey, controller, layer, started, dir);
    } catch (err) {
      await Promise.all(started.map((p) => p.stop()));
      await layer.close();
      await controller.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Stops the children and the controller; removes the swarm's files. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.all(this.peers.map((p) => p.stop()));
      await this.layer.close();
      await this.controller.stop();
      rmSync(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

/** Resolves once every id in `ids` is an alive member of the controller's swarm. */
function waitForMembers(controller: PeerController, ids: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  const missing = (): string[] => [...ids].filter((id) => controller.membership.peer(id)?.state !== 'alive');
  if (missing().length === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (missing().length > 0) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`The embedded swarm did not form within ${timeoutMs} ms: peers ${missing().join(', ')} never joined.`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      controller.membership.off('peer-alive', check);
      controller.membership.off('peer-update', check);
    };
    controller.membership.on('peer-alive', check);
    controller.membership.on('peer-update', check);
  });
}
