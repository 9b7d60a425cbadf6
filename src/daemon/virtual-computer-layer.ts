/**
 * The virtual-computer layer: this peer's whole virtual-computer side, wired onto its PeerController. The deployers
 * of its applications (owner/), its worker (enrolment in other peers' virtual computers), executors, assemblies,
 * message manager and checkpoint store (host/), and the handlers of every message type of
 * protocol/virtual-computer-messages.ts.
 *
 * ```ts
 * const pc = await PeerController.start({ swarmKey, port: 0 });
 * const layer = VirtualComputerLayer.attach(pc);          // accepts enrolments, serves applications
 * ...
 * await layer.close(); await pc.stop();
 * ```
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../protocol/package-files.ts';
import type { Connection } from '../protocol/connection.ts';
import type { Logger } from '../protocol/log.ts';
import type { MessageOf, ReplyInput } from '../protocol/messages.ts';
import { OptionError, UnknownVirtualComputerError } from '../protocol/errors.ts';
import type { PeerController } from './peer-controller.ts';
import type { PeerInfo } from './swarm/participation-manager.ts';
import { AssemblyStore } from './host/assembly-manager.ts';
import { CheckpointStore, checkpointStoreHandlers } from './host/checkpoint-store.ts';
import { MessageManager } from './host/message-manager.ts';
import { Worker, type WorkerOptions } from './host/worker.ts';
import { planSandbox, type SandboxPlan } from './host/sandbox.ts';
import { Deployer, deployerHandlers } from './owner/deployer.ts';
import { deployerMessagingHandlers } from './owner/deployer-messaging.ts';
import { PeerLinks } from './peer-links.ts';
import type { HandlerTable } from './message-handlers.ts';

export interface VirtualComputerLayerOptions extends WorkerOptions {
  /** Executor crashes a thread of this controller's virtual computers may cause before it fails, unless the application sets its own. @default 3 */
  maxErrors?: number;
  /** Most bytes of checkpoints this peer holds for others. @default 1 GiB */
  checkpointStoreBytes?: number;
  /**
   * Most bytes of checkpoints this peer holds for one owner, so that one swarm member cannot fill the store and
   * leave other owners' threads unprotected. @default a quarter of checkpointStoreBytes
   */
  checkpointStoreBytesPerOwner?: number;
}

/** The local admin credential's file in the data dir: `ppp2p status` sends it to see every virtual computer. */
export const ADMIN_TOKEN_FILE = 'admin.token';

/**
 * This peer's virtual-computer side: deployers for its applications, its worker, executors and assemblies.
 * Attach it to a PeerController once; close it before stopping the controller.
 */
export class VirtualComputerLayer {
  readonly worker: Worker;
  /** How this peer isolates the threads it runs. */
  readonly sandbox: SandboxPlan;
  readonly assemblies: AssemblyStore;
  readonly links: PeerLinks;
  /** Mailboxes, address resolver and peer unit proxy of this peer (message passing between threads). */
  readonly messages: MessageManager;
  /** Dormant copies of other peers' threads held here. */
  readonly checkpoints: CheckpointStore;
  readonly #peer: PeerController;
  readonly #log: Logger;
  readonly #deployers = new Map<string, Deployer>();
  readonly #unregister: (() => void)[] = [];
  /** The local admin credential (`<dataDir>/admin.token`): whoever can read that file sees every virtual computer. */
  readonly #adminToken: string;
  /** An owner declared dead ends its virtual computers: the copies held for them go. */
  readonly #onPeerDead = (p: PeerInfo): void => {
    const dropped = this.checkpoints.ownerGone(p.id);
    if (dropped > 0) this.#log.info(`dropped ${dropped} checkpoint(s) held for owner ${p.id}: it was declared dead`);
  };
  #closed = false;
  readonly #defaultMaxErrors: number;

  private constructor(peer: PeerController, opts: VirtualComputerLayerOptions) {
    this.#peer = peer;
    this.#defaultMaxErrors = opts.maxErrors ?? 3;
    this.#log = peer.log.child('deployer');
    // Secure by default: a layer attached without a sandbox plan gets the strongest this machine has.
    const sandbox = opts.sandbox ?? planSandbox(undefined, false);
    this.sandbox = sandbox;
    this.assemblies = new AssemblyStore(peer.dataDir, { compiledSdk: sandbox.mode !== 'off' });
    if (sandbox.mode !== 'off' && resolve(peer.dataDir).startsWith(packageRoot())) {
      this.#log.warn(`the data dir ${peer.dataDir} is inside the ppp2p package (${packageRoot()}), which sandboxed threads may read: its identity key and admin token are exposed to them; use a data dir elsewhere`);
    }
    this.links = new PeerLinks(peer, peer.log.child('links'));
    this.messages = new MessageManager({
      links: this.links,
      log: peer.log.child('messages'),
      owns: (vc) => this.#deployers.has(vc),
      hostOf: (vc, thread, epoch, token, host) => this.#deployers.get(vc)?.messaging.fromHost(thread, epoch, token, host) ?? false,
    });
    this.worker = new Worker(peer, this.links, this.assemblies, { ...opts, sandbox }, peer.log.child('worker'), this.messages);
    this.worker.shippedTo = (p, hash) => [...this.#deployers.values()].some((d) => d.shippedTo(p, hash));
    const storeBytes = opts.checkpointStoreBytes ?? 1024 ** 3;
    this.checkpoints = new CheckpointStore({
      maxBytes: storeBytes,
      maxBytesPerOwner: opts.checkpointStoreBytesPerOwner ?? Math.floor(storeBytes / 4),
      storeDelayMs: Number(process.env.PPP2P_FAULT_CHECKPOINT_STORE_DELAY_MS ?? 0) || 0,
      // Copies only for live members: a copy for an owner declared dead (or never known) would never be dropped.
      ownerAlive: (owner) => {
        const state = peer.membership.peer(owner)?.state;
        return state === 'alive' || state === 'suspect';
      },
    });
    this.#adminToken = randomBytes(32).toString('hex');
    const tokenFile = join(peer.dataDir, ADMIN_TOKEN_FILE);
    try {
      writeFileSync(tokenFile, `${this.#adminToken}\n`, { mode: 0o600 });
      chmodSync(tokenFile, 0o600);
    } catch (err) {
      this.#log.warn(`cannot write the admin credential ${tokenFile} (ppp2p status will show only its own virtual computers): ${(err as Error).message}`);
    }
    peer.membership.on('peer-dead', this.#onPeerDead);
    const deployer = (vc: string): Deployer | undefined => this.#deployers.get(vc);
    for (const table of [
      this.#applicationHandlers(),
      deployerHandlers(deployer),
      deployerMessagingHandlers(deployer),
      this.worker.handlers(),
      this.messages.handlers(),
      checkpointStoreHandlers({ store: this.checkpoints, links: this.links, log: this.#log, selfId: peer.id }),
    ]) {
      this.#unregister.push(peer.register(table));
    }
  }

  /** Registers the handlers of the virtual-computer messages on `peer` and starts its executors. */
  static attach(peer: PeerController, opts: VirtualComputerLayerOptions = {}): VirtualComputerLayer {
    return new VirtualComputerLayer(peer, opts);
  }

  /**
   * What `ppp2p status` shows of this peer besides the membership. `viewer` limits it: an application's client
   * sees its own virtual computers and the threads executing here for them; a peer sees the threads executing
   * here for its own virtual computers. Without `viewer` (the local admin): everything.
   */
  status(viewer?: { client: Connection } | { peer: string }): Omit<MessageOf<'vc-status-reply'>, 't' | 're'> {
    const ex = this.worker.executors;
    const deployers = [...this.#deployers.values()].filter((d) => viewer === undefined || ('client' in viewer && d.client === viewer.client));
    const mine = new Set(deployers.map((d) => d.vc));
    const executing = this.worker
      .executing()
      .filter((e) => viewer === undefined || ('peer' in viewer ? e.owner === viewer.peer : e.owner === this.#peer.id && mine.has(e.vc)));
    return {
      self: this.#peer.id,
      slots: ex.slots,
      free: ex.freeSlots,
      vcs: deployers.map((d) => d.status()),
      executing,
      assemblies: this.assemblies.stats,
      held: this.checkpoints.stats(),
      sandbox: { mode: this.sandbox.mode, layers: this.sandbox.layers, missing: this.sandbox.missing },
      ...(this.worker.paused !== undefined ? { paused: this.worker.paused } : {}),
    };
  }

  /** Whether `token` is this daemon's local admin credential (constant time). */
  #isAdmin(token: string | undefined): boolean {
    if (token === undefined) return false;
    const a = Buffer.from(token.trim());
    const b = Buffer.from(this.#adminToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Graceful leave (SIGTERM): this peer's threads migrate at their next checkpoint with no work lost (see
   * Worker.leave). Call before close().
   */
  async leave(timeoutMs?: number): Promise<void> {
    await this.worker.leave(timeoutMs);
  }

  /** Closes every deployer (dismissing its workers) and stops the executors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#deployers.values()) d.close('the controller is stopping');
    this.#deployers.clear();
    for (const u of this.#unregister) u();
    this.#peer.membership.off('peer-dead', this.#onPeerDead);
    await this.worker.close();
    this.messages.close();
    this.checkpoints.clear();
  }

  /** What applications send their controller: their virtual computers, assemblies, spawns and cancels. */
  #applicationHandlers(): HandlerTable {
    const status = (msg: MessageOf<'vc-status'>, viewer: { client: Connection } | { peer: string }): ReplyInput => {
      const admin = this.#isAdmin(msg.admin);
      if (msg.admin !== undefined && !admin) this.#log.warn(`vc-status with a wrong admin credential from ${'peer' in viewer ? viewer.peer : viewer.client.remoteId}: showing only its own`);
      return { t: 'vc-status-reply', ...this.status(admin ? undefined : viewer) };
    };
    return {
      'vc-create': { client: (msg, client) => this.#create(msg, client) },
      'vc-close': {
        client: (msg, client) => {
          this.#ownDeployer(msg.vc, client).close('closed by its application');
          this.#deployers.delete(msg.vc);
          return { t: 'vc-close-reply' };
        },
      },
      'assembly-offer': { client: (msg) => ({ t: 'assembly-offer-reply', have: this.assemblies.has(msg.hash) }) },
      'assembly-put': {
        client: (msg) => {
          this.assemblies.put(msg.hash, msg.code);
          return { t: 'assembly-put-reply' };
        },
      },
      spawn: {
        client: (msg, client) => {
          this.#ownDeployer(msg.vc, client).spawn(msg);
        },
      },
      cancel: {
        client: (msg, client) =>
          this.#ownDeployer(msg.vc, client)
            .cancel(msg.thread)
            .then((cancelled) => ({ t: 'cancel-reply', cancelled })),
      },
      'vc-status': { peer: (msg, from) => status(msg, { peer: from.remoteId }), client: (msg, client) => status(msg, { client }) },
    };
  }

  async #create(msg: MessageOf<'vc-create'>, client: Connection): Promise<ReplyInput> {
    if (msg.workers < 1) throw new OptionError('workers must be at least 1');
    if (msg.mailboxSize !== undefined && (msg.mailboxSize < 1 || msg.mailboxSize > 1_000_000)) {
      throw new OptionError(`mailboxSize must be from 1 to 1000000, got ${msg.mailboxSize}`);
    }
    if (msg.maxErrors !== undefined && msg.maxErrors < 1) throw new OptionError(`maxErrors must be at least 1, got ${msg.maxErrors}`);
    if (msg.lockLeaseMs !== undefined && msg.lockLeaseMs < 10) {
      throw new OptionError(`lockLeaseMs must be at least 10, got ${msg.lockLeaseMs}`);
    }
    if (msg.replicas !== undefined && (msg.replicas < 1 || msg.replicas > 16)) {
      throw new OptionError(`checkpoint replicas must be from 1 to 16, got ${msg.replicas}`);
    }
    const vc = randomBytes(8).toString('hex');
    const d = new Deployer({
      vc,
      client,
      quota: msg.workers,
      links: this.links,
      peer: this.#peer,
      selfEnrolable: this.worker.executors.slots > 0,
      log: this.#log,
      replicas: msg.replicas,
      checkpointIntervalMs: msg.checkpointIntervalMs,
      messages: this.messages,
      mailboxSize: msg.mailboxSize,
      lockLeaseMs: msg.lockLeaseMs,
      maxErrors: msg.maxErrors ?? this.#defaultMaxErrors,
    });
    this.#deployers.set(vc, d);
    // The application is the owner: when it goes, so does its virtual computer.
    client.onClose(() => {
      d.close('its application disconnected');
      this.#deployers.delete(vc);
    });
    try {
      const workers = await d.start(Math.min(msg.minWorkers, msg.workers), msg.enrolTimeoutMs);
      this.#log.info(`virtual computer ${vc} of ${client.remoteId} started with ${workers.length} worker(s)`);
      return { t: 'vc-create-reply', vc, workers: workers.map((w) => ({ id: w.id, slots: w.slots, speed: w.speed })) };
    } catch (err) {
      this.#deployers.delete(vc);
      throw err;
    }
  }

  #ownDeployer(vc: string, client: Connection): Deployer {
    const d = this.#deployers.get(vc);
    if (d === undefined || d.client !== client) {
      throw new UnknownVirtualComputerError(`this controller deploys no virtual computer ${vc} for application ${client.remoteId}`);
    }
    return d;
  }
}
