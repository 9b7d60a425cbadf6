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
import { randomBytes } from 'node:crypto';
import type { Connection } from '../protocol/connection.ts';
import type { Logger } from '../protocol/log.ts';
import type { Message, MessageOf, ReplyInput, Role } from '../protocol/messages.ts';
import type { PeerController } from './peer-controller.ts';
import type { PeerInfo } from './swarm/participation-manager.ts';
import { AssemblyStore } from './host/assembly-manager.ts';
import { CheckpointStore, formatVersion } from './host/checkpoint-store.ts';
import { MessageManager, MESSAGING_CLIENT_TYPES, MESSAGING_PEER_TYPES } from './host/message-manager.ts';
import { Worker, type WorkerOptions } from './host/worker.ts';
import { Deployer } from './owner/deployer.ts';
import { CheckpointNotHeldError, ForbiddenError, OptionError, UnknownVirtualComputerError } from '../protocol/errors.ts';
import { PeerLinks, type Sender } from './peer-links.ts';

export interface VirtualComputerLayerOptions extends WorkerOptions {
  /** Most bytes of checkpoints this peer holds for others. @default 1 GiB */
  checkpointStoreBytes?: number;
}

/** How long a holder has to pass a copy on to a new holder. */
const REPLICATE_PUT_TIMEOUT_MS = 30_000;

const clientOnly = { roles: ['client'] as const satisfies readonly Role[] };
const peersOnly = { roles: ['peer'] as const satisfies readonly Role[] };

/**
 * This peer's virtual-computer side: deployers for its applications, its worker, executors and assemblies.
 * Attach it to a PeerController once; close it before stopping the controller.
 */
export class VirtualComputerLayer {
  readonly worker: Worker;
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
  /** An owner declared dead ends its virtual computers: the copies held for them go. */
  readonly #onPeerDead = (p: PeerInfo): void => {
    const dropped = this.checkpoints.ownerGone(p.id);
    if (dropped > 0) this.#log.info(`dropped ${dropped} checkpoint(s) held for owner ${p.id}: it was declared dead`);
  };
  #closed = false;

  private constructor(peer: PeerController, opts: VirtualComputerLayerOptions) {
    this.#peer = peer;
    this.#log = peer.log.child('deployer');
    this.assemblies = new AssemblyStore(peer.dataDir);
    this.links = new PeerLinks(peer, (msg, from) => this.#route(msg, from), peer.log.child('links'));
    this.messages = new MessageManager({ links: this.links, log: peer.log.child('messages') });
    this.worker = new Worker(peer, this.links, this.assemblies, opts, peer.log.child('worker'), this.messages);
    this.checkpoints = new CheckpointStore({
      maxBytes: opts.checkpointStoreBytes,
      storeDelayMs: Number(process.env.PPP2P_FAULT_CHECKPOINT_STORE_DELAY_MS ?? 0) || 0,
      // A copy for an owner declared dead would never be dropped: its virtual computer has ended.
      ownerAlive: (owner) => peer.membership.peer(owner)?.state !== 'dead',
    });
    peer.membership.on('peer-dead', this.#onPeerDead);
    const route = (msg: Message, conn: Connection): ReplyInput | void | Promise<ReplyInput | void> => this.#route(msg, conn, conn);
    const h = this.#unregister;
    for (const t of ['vc-create', 'vc-close', 'assembly-offer', 'assembly-put', 'spawn', 'cancel'] as const) h.push(peer.handle(t, route, clientOnly));
    for (const t of ['enrol', 'dismiss', 'exec', 'exec-cancel', 'exec-progress', 'exec-result', 'exec-error', 'assembly-fetch'] as const) {
      h.push(peer.handle(t, route, peersOnly));
    }
    for (const t of [
      'exec-holders',
      'exec-fence',
      'exec-checkpoint',
      'exec-handback',
      'worker-leaving',
      'checkpoint-put',
      'checkpoint-fetch',
      'checkpoint-replicate',
      'checkpoint-drop',
      'checkpoint-release',
    ] as const) {
      h.push(peer.handle(t, route, peersOnly));
    }
    h.push(peer.handle('vc-status', route));
    for (const t of MESSAGING_PEER_TYPES) h.push(peer.handle(t, route, peersOnly));
    for (const t of MESSAGING_CLIENT_TYPES) h.push(peer.handle(t, route, clientOnly));
  }

  /** Registers the handlers of the virtual-computer messages on `peer` and starts its executors. */
  static attach(peer: PeerController, opts: VirtualComputerLayerOptions = {}): VirtualComputerLayer {
    return new VirtualComputerLayer(peer, opts);
  }

  /** What `ppp2p status` shows of this peer besides the membership. */
  status(): Omit<MessageOf<'vc-status-reply'>, 't' | 're'> {
    const ex = this.worker.executors;
    return {
      self: this.#peer.id,
      slots: ex.slots,
      free: ex.freeSlots,
      vcs: [...this.#deployers.values()].map((d) => d.status()),
      executing: this.worker.executing(),
      assemblies: this.assemblies.stats,
      held: this.checkpoints.stats(),
    };
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

  #route(msg: Message, from: Sender, conn?: Connection): ReplyInput | void | Promise<ReplyInput | void> {
    switch (msg.t) {
      case 'vc-create':
        return this.#create(msg, conn!);
      case 'vc-close':
        this.#ownDeployer(msg.vc, conn!).close('closed by its application');
        this.#deployers.delete(msg.vc);
        return { t: 'vc-close-reply' };
      case 'assembly-offer':
        return { t: 'assembly-offer-reply', have: this.assemblies.has(msg.hash) };
      case 'assembly-put':
        this.assemblies.put(msg.hash, msg.code);
        return { t: 'assembly-put-reply' };
      case 'spawn':
        this.#ownDeployer(msg.vc, conn!).spawn(msg);
        return;
      case 'cancel':
        return this.#ownDeployer(msg.vc, conn!)
          .cancel(msg.thread)
          .then((cancelled) => ({ t: 'cancel-reply', cancelled }));
      case 'vc-status':
        return { t: 'vc-status-reply', ...this.status() };
      case 'enrol':
        return this.worker.onEnrol(msg, from);
      case 'dismiss':
        return this.worker.onDismiss(msg, from);
      case 'exec':
        return this.worker.onExec(msg, from);
      case 'exec-cancel':
        return this.worker.onExecCancel(msg, from);
      case 'assembly-fetch':
        return this.worker.onAssemblyFetch(msg);
      case 'exec-progress':
        return this.#deployers.get(msg.vc)?.onProgress(msg, from);
      case 'exec-result':
        return this.#deployers.get(msg.vc)?.onResult(msg, from);
      case 'exec-error':
        return this.#deployers.get(msg.vc)?.onError(msg, from);
      case 'exec-checkpoint':
        return this.#deployers.get(msg.vc)?.onCheckpoint(msg, from);
      case 'exec-handback':
        return this.#deployers.get(msg.vc)?.onHandback(msg, from);
      case 'worker-leaving':
        return this.#deployers.get(msg.vc)?.onWorkerLeaving(from);
      case 'exec-holders':
        return this.worker.onExecHolders(msg, from);
      case 'exec-fence':
        return this.worker.onExecFence(msg, from);
      case 'checkpoint-put':
        this.#log.debug(`holding checkpoint ${formatVersion(msg)} of thread ${msg.thread} of ${msg.vc} for ${from.remoteId} (${msg.snapshot.byteLength} bytes)`);
        return this.checkpoints.put(msg).then(() => ({ t: 'checkpoint-put-reply' }));
      case 'checkpoint-fetch':
        return { t: 'checkpoint-fetch-reply', snapshot: this.#held(msg) };
      case 'checkpoint-replicate':
        return this.#replicate(msg, from);
      case 'checkpoint-drop':
        if (!this.checkpoints.dropBelow(msg.vc, msg.thread, msg.below, from.remoteId)) this.#log.warn(`ignored a checkpoint-drop for ${msg.vc} from ${from.remoteId}, not its owner`);
        return;
      case 'checkpoint-release':
        if (!this.checkpoints.release(msg.vc, from.remoteId)) this.#log.warn(`ignored a checkpoint-release for ${msg.vc} from ${from.remoteId}, not its owner`);
        return;
      case 'msg-deliver':
      case 'msg-ack':
      case 'msg-nack':
      case 'msg-credit':
      case 'msg-residual':
      case 'msg-trim':
      case 'thread-placed':
      case 'thread-locate':
      case 'globals-op':
      case 'globals-get':
      case 'globals-set':
      case 'globals-watch':
        return this.messages.route(msg, from, conn, (vc) => this.#deployers.get(vc));
      default:
        return;
    }
  }

  async #create(msg: MessageOf<'vc-create'>, client: Connection): Promise<ReplyInput> {
    if (msg.workers < 1) throw new OptionError('workers must be at least 1');
    if (msg.mailboxSize !== undefined && (msg.mailboxSize < 1 || msg.mailboxSize > 1_000_000)) {
      throw new OptionError(`mailboxSize must be from 1 to 1000000, got ${msg.mailboxSize}`);
    }
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

  /** A copy held here, or a CheckpointNotHeldError for the requester. */
  #held(msg: { vc: string; thread: number; epoch: number; n: number }): Uint8Array {
    const snapshot = this.checkpoints.get(msg.vc, msg.thread, msg);
    if (snapshot === undefined) {
      throw new CheckpointNotHeldError(`peer ${this.#peer.id} holds no checkpoint ${formatVersion(msg)} of thread ${msg.thread} of virtual computer ${msg.vc}`);
    }
    return snapshot;
  }

  /** The owner asks this holder to pass a copy on to a new holder (the old one died). */
  async #replicate(msg: MessageOf<'checkpoint-replicate'>, from: Sender): Promise<ReplyInput> {
    const snapshot = this.#held(msg);
    const owner = this.checkpoints.ownerOf(msg.vc);
    if (owner !== from.remoteId) throw new ForbiddenError(`only the owner of ${msg.vc} may have its checkpoints copied`);
    const put = { t: 'checkpoint-put', vc: msg.vc, owner, thread: msg.thread, epoch: msg.epoch, n: msg.n, snapshot } as const;
    await this.links.request(msg.to, put, REPLICATE_PUT_TIMEOUT_MS);
    return { t: 'checkpoint-replicate-reply' };
  }

  #ownDeployer(vc: string, client: Connection): Deployer {
    const d = this.#deployers.get(vc);
    if (d === undefined || d.client !== client) {
      throw new UnknownVirtualComputerError(`this controller deploys no virtual computer ${vc} for application ${client.remoteId}`);
    }
    return d;
  }
}
