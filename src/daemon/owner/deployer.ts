/**
 * The deployer (paper's name): one per virtual computer of a local application, inside the controller the
 * application connects to. It owns the virtual computer's workers (through its enrolment requestor and worker
 * quota maintainer) and threads (through its virtual thread delegator), and relays each thread's progress,
 * result or error to the application.
 *
 * {@link VirtualComputerLayer} is this peer's whole virtual-computer side: the deployers of its applications,
 * its worker (enrolment in other peers' virtual computers), its executors and assemblies, and the handlers
 * of every message type of protocol/virtual-computer-messages.ts.
 *
 * ```ts
 * const pc = await PeerController.start({ swarmKey, port: 0 });
 * const layer = VirtualComputerLayer.attach(pc);          // accepts enrolments, serves applications
 * ...
 * await layer.close(); await pc.stop();
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from '../../protocol/connection.ts';
import type { Logger } from '../../protocol/log.ts';
import type { PeerController } from '../peer-controller.ts';
import type { PeerInfo } from '../swarm/participation-manager.ts';
import type { Message, MessageOf, ReplyInput, Role } from '../../protocol/messages.ts';
import { AssemblyStore } from '../host/assembly-manager.ts';
import { isAssemblyHash } from '../../protocol/assembly.ts';
import { EnrolmentRequestor } from '../swarm/enrolment-requestor.ts';
import { WorkerQuotaMaintainer } from './worker-quota-maintainer.ts';
import { VirtualThreadDelegator, type ThreadRecord, type ThreadState, type WorkerRecord } from './virtual-thread-delegator.ts';
import { PeerLinks, Worker, type Sender, type WorkerOptions } from '../host/worker.ts';
import { CheckpointNotHeldError, CheckpointStore, formatVersion } from '../host/checkpoint-store.ts';
import { Recovery } from './recovery.ts';
import { DeployerMessaging, MessageManager, MESSAGING_CLIENT_TYPES, MESSAGING_PEER_TYPES } from '../host/message-manager.ts';

/** A virtual computer could not start with `minWorkers` workers. Sent to the application as code ERR_ENROLMENT. */
export class EnrolmentError extends Error {
  override name = 'EnrolmentError';
  readonly code = 'ERR_ENROLMENT';
}

/** A request named a virtual computer this controller does not deploy for the sender. Code ERR_UNKNOWN_VC. */
export class UnknownVirtualComputerError extends Error {
  override name = 'UnknownVirtualComputerError';
  readonly code = 'ERR_UNKNOWN_VC';
}

type VcStatus = MessageOf<'vc-status-reply'>['vcs'][number];
type ThreadStatus = VcStatus['threads'][number];

/** Finished threads listed by `ppp2p status` besides the unfinished ones. */
const RECENT_FINISHED = 200;

export interface DeployerInit {
  vc: string;
  /** The application's connection: the owner of the virtual computer. */
  client: Connection;
  quota: number;
  links: PeerLinks;
  peer: PeerController;
  /** Whether this controller's own worker may be enrolled. */
  selfEnrolable: boolean;
  log: Logger;
  /** Holders of each checkpoint besides the executing peer. @default 1 */
  replicas?: number;
  /** Checkpoint policy of the threads: at most one snapshot per this many ms of run time. @default the runtime's (1000) */
  checkpointIntervalMs?: number;
  /** This peer's message manager (message passing and globals). */
  messages?: MessageManager;
  /** Mailbox size of the threads. @default 256 */
  mailboxSize?: number;
  /** Lease of a `globals.update` lock. @default 5000 */
  lockLeaseMs?: number;
}

/** Moves of one thread kept for `ppp2p status`. */
const MIGRATIONS_KEPT = 16;

export class Deployer {
  readonly vc: string;
  readonly client: Connection;
  readonly quota: number;
  readonly #links: PeerLinks;
  readonly #peer: PeerController;
  readonly #log: Logger;
  readonly #delegator: VirtualThreadDelegator;
  readonly #requestor: EnrolmentRequestor;
  readonly #maintainer: WorkerQuotaMaintainer;
  readonly #threads = new Map<number, ThreadRecord>();
  readonly #recent: ThreadStatus[] = [];
  readonly #finished = { done: 0, failed: 0, cancelled: 0 };
  /** Why each peer that was asked last did not enrol. */
  readonly #refusals = new Map<string, string>();
  readonly #onPeerUpdate = (p: PeerInfo): void => this.#peerUpdate(p);
  readonly #recovery: Recovery;
  /** Message passing and globals of this virtual computer: placements for the address resolvers, the global variable manager. */
  readonly messaging: DeployerMessaging;
  readonly #checkpointIntervalMs: number | undefined;
  /** `thread:epoch` of stale placements already told to stop. */
  readonly #fenced = new Set<string>();
  readonly #onPeerDead = (p: PeerInfo): void => this.#peerDead(p.id);
  readonly #onPeerAlive = (p: PeerInfo): void => this.#recovery.peerAlive(p.id);
  #closed = false;

  constructor(init: DeployerInit) {
    this.vc = init.vc;
    this.client = init.client;
    this.quota = init.quota;
    this.#links = init.links;
    this.#peer = init.peer;
    this.#log = init.log;
    this.#checkpointIntervalMs = init.checkpointIntervalMs;
    this.#recovery = new Recovery({
      vc: this.vc,
      replicas: init.replicas ?? 1,
      links: init.links,
      membership: init.peer.membership,
      log: init.log,
      workers: () => this.#delegator.workers.keys(),
      threads: () => this.#threads.values(),
    });
    this.#delegator = new VirtualThreadDelegator({ dispatch: (w, t) => this.#dispatch(w, t) });
    this.messaging = new DeployerMessaging({
      vc: this.vc,
      links: init.links,
      log: init.log,
      manager: init.messages,
      client: init.client,
      workers: () => this.#delegator.workers.keys(),
      thread: (n) => this.#threads.get(n),
      peerAlive: (host) => (init.peer.membership.peer(host)?.state ?? 'dead') !== 'dead',
      mailboxSize: init.mailboxSize,
      lockLeaseMs: init.lockLeaseMs,
    });
    this.#requestor = new EnrolmentRequestor(this.vc, init.links, init.peer.membership, init.selfEnrolable);
    this.#maintainer = new WorkerQuotaMaintainer(
      {
        quota: this.quota,
        enrolled: () => this.#delegator.workers.size,
        enrolMore: () => this.enrolMore(),
        workerDead: (id) => this.#workerLost(id, 'it was declared dead'),
        isEnrolled: (id) => this.#delegator.workers.has(id),
      },
      init.peer.membership,
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Enrols up to the quota, waiting up to `enrolTimeoutMs` for missing workers; then keeps the quota.
   * Rejects with an EnrolmentError (and dismisses whoever enrolled) if fewer than `minWorkers` enrolled.
   */
  async start(minWorkers: number, enrolTimeoutMs: number): Promise<WorkerRecord[]> {
    const deadline = Date.now() + enrolTimeoutMs;
    const membership = this.#peer.membership;
    for (;;) {
      await this.enrolMore();
      const left = deadline - Date.now();
      if (this.#closed || this.#delegator.workers.size >= this.quota || left <= 0) break;
      // Wait for the swarm to change (a peer joins or frees a slot), or retry shortly anyway.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          membership.off('peer-alive', done);
          membership.off('peer-update', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 250));
        membership.on('peer-alive', done);
        membership.on('peer-update', done);
      });
    }
    if (this.#closed) throw new EnrolmentError(`Virtual computer ${this.vc} was closed while it enrolled workers.`);
    const enrolled = this.#delegator.workers.size;
    if (enrolled < minWorkers) {
      const err = new EnrolmentError(this.#explainShortfall(minWorkers, enrolTimeoutMs));
      this.close('it could not start');
      throw err;
    }
    if (enrolled < this.quota) {
      this.#log.info(`virtual computer ${this.vc} starts with ${enrolled} of ${this.quota} workers; enrolling the rest as peers free up or join`);
    }
    this.#maintainer.start();
    this.#peer.membership.on('peer-update', this.#onPeerUpdate);
    this.#peer.membership.on('peer-dead', this.#onPeerDead);
    this.#peer.membership.on('peer-alive', this.#onPeerAlive);
    return [...this.#delegator.workers.values()];
  }

  /** One enrolment round for the missing workers. */
  async enrolMore(): Promise<void> {
    const wanted = this.quota - this.#delegator.workers.size;
    if (wanted <= 0 || this.#closed) return;
    const round = await this.#requestor.request(wanted, new Set(this.#delegator.workers.keys()));
    for (const [id, why] of round.refusals) this.#refusals.set(id, why);
    for (const a of round.accepted) {
      this.#refusals.delete(a.id);
      if (this.#closed) {
        this.#links.send(a.id, { t: 'dismiss', vc: this.vc });
        continue;
      }
      this.#log.debug(`virtual computer ${this.vc} enrolled ${a.id} (${a.slots} slots, speed ${a.speed})`);
      this.#delegator.addWorker({ id: a.id, slots: a.slots, speed: a.speed, others: a.slots - a.free, running: new Set() });
    }
  }

  /** Threads spawned by the application (one batch). */
  spawn(msg: MessageOf<'spawn'>): void {
    for (const s of msg.threads) {
      if (this.#threads.has(s.thread)) continue; // a duplicate spawn: the first one stands
      const t: ThreadRecord = {
        thread: s.thread,
        assembly: s.assembly,
        fn: s.fn,
        args: s.args,
        count: msg.count,
        state: 'queued',
        host: undefined,
        placements: 0,
        progress: 0,
        lastSeq: -1,
      };
      this.#threads.set(t.thread, t);
      if (!isAssemblyHash(s.assembly)) {
        this.#fail(t, 'AssemblyError', `'${s.assembly}' is not an assembly hash`, '');
        continue;
      }
      this.#delegator.enqueue(t);
    }
    this.#delegator.place();
  }

  /** Stops a thread; false if it had already finished (or never existed). */
  async cancel(thread: number): Promise<boolean> {
    const t = this.#threads.get(thread);
    if (t === undefined || isFinished(t.state)) return false;
    if (t.state === 'queued') {
      this.#delegator.dequeue(t);
    } else {
      const host = t.host!;
      this.#delegator.release(t);
      this.#finish(t, 'cancelled');
      try {
        await this.#links.request(host, { t: 'exec-cancel', vc: this.vc, thread }, 5000);
      } catch (err) {
        this.#log.debug(`cancel of thread ${thread} on ${host}: ${(err as Error).message}`);
      }
      this.#delegator.place();
      return true;
    }
    this.#finish(t, 'cancelled');
    return true;
  }

  onProgress(msg: MessageOf<'exec-progress'>, from: Sender): void {
    const t = this.#current(msg, from);
    if (t === undefined || msg.seq <= t.lastSeq) return;
    t.lastSeq = msg.seq;
    t.progress++;
    this.#toClient({ t: 'thread-progress', vc: this.vc, thread: t.thread, seq: msg.seq, value: msg.value });
  }

  onResult(msg: MessageOf<'exec-result'>, from: Sender): void {
    const t = this.#current(msg, from);
    if (t === undefined) return;
    this.#delegator.release(t, msg.others);
    this.#finish(t, 'done');
    this.#toClient({ t: 'thread-result', vc: this.vc, thread: t.thread, value: msg.value });
    this.#delegator.place();
  }

  onError(msg: MessageOf<'exec-error'>, from: Sender): void {
    const t = this.#current(msg, from);
    if (t === undefined) return;
    if (msg.name === 'NotEnrolledError') {
      // The worker dropped this virtual computer (it thought the owner dead): enrol someone else.
      this.#workerLost(from.remoteId, msg.message);
      this.#maintainer.poke();
      return;
    }
    this.#delegator.release(t, msg.others);
    if (msg.name === 'CheckpointUnavailableError') {
      // Not the thread's failure: no holder could send the checkpoint it was to resume from.
      this.#log.warn(`thread ${t.thread} of ${this.vc} could not resume on ${from.remoteId}: ${msg.message}; resuming it from older state`);
      const ck = this.#recovery.directory.newest(t.thread);
      if (ck !== undefined) this.#recovery.directory.invalidate(t.thread, ck);
      this.#requeue(t, 'its checkpoint could not be fetched');
    } else {
      this.#fail(t, msg.name, msg.message, msg.stack);
    }
    this.#delegator.place();
  }

  /** An executor's checkpoint was acknowledged by its holders: from now on the thread resumes from it. */
  onCheckpoint(msg: MessageOf<'exec-checkpoint'>, from: Sender): void {
    // A report can trail its thread's result (the transfer ran beside it): no reason to fence anything.
    const t = this.#current(msg, from, false);
    if (t === undefined) return;
    this.#recovery.onCheckpoint(t, msg);
    this.messaging.checkpointAcknowledged(t.thread, msg.seq, msg.consumed ?? {});
  }

  /** A leaving worker gives a placement back (after its last snapshot was acknowledged): it resumes elsewhere. */
  onHandback(msg: MessageOf<'exec-handback'>, from: Sender): void {
    const t = this.#current(msg, from);
    if (t === undefined) return;
    this.#log.info(`thread ${t.thread} of ${this.vc} handed back by ${from.remoteId}: ${msg.reason}`);
    this.#delegator.release(t);
    this.#requeue(t, 'leave');
    this.#delegator.place();
  }

  /** A worker is leaving the swarm: nothing more is placed on it; its threads come back by exec-handback. */
  onWorkerLeaving(from: Sender): void {
    if (!this.#delegator.workers.has(from.remoteId)) return;
    this.#log.info(`worker ${from.remoteId} of virtual computer ${this.vc} is leaving`);
    this.#delegator.removeWorker(from.remoteId);
    this.#maintainer.poke();
  }

  status(): VcStatus {
    const unfinished: ThreadStatus[] = [];
    for (const t of this.#threads.values()) if (!isFinished(t.state)) unfinished.push(threadStatus(t, this.#recovery));
    return {
      vc: this.vc,
      owner: this.client.remoteId,
      quota: this.quota,
      workers: [...this.#delegator.workers.values()].map((w) => ({ id: w.id, slots: w.slots, speed: w.speed, running: w.running.size })),
      threads: [...unfinished, ...this.#recent],
      finished: { ...this.#finished },
      queued: this.#delegator.queued,
    };
  }

  /** Stops every thread and dismisses every worker. */
  close(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#maintainer.stop();
    this.#peer.membership.off('peer-update', this.#onPeerUpdate);
    this.#peer.membership.off('peer-dead', this.#onPeerDead);
    this.#peer.membership.off('peer-alive', this.#onPeerAlive);
    this.#recovery.release();
    this.messaging.close();
    for (const id of this.#delegator.workers.keys()) this.#links.send(id, { t: 'dismiss', vc: this.vc });
    this.#delegator.workers.clear();
    this.#threads.clear();
    this.#log.debug(`virtual computer ${this.vc} closed: ${why}`);
  }

  #dispatch(w: WorkerRecord, t: ThreadRecord): void {
    const resume = this.#recovery.resumeFrom(t);
    // The holders of the checkpoint it resumes from hold it already: keeping them protects it at once.
    t.holders = this.#recovery.chooseHolders(t, w.id, resume?.holders ?? []);
    t.prefer = undefined;
    this.#recovery.directory.noteHolders(t.thread, t.holders);
    this.#links.send(w.id, {
      t: 'exec',
      vc: this.vc,
      epoch: t.placements,
      count: t.count,
      thread: t.thread,
      assembly: t.assembly,
      fn: t.fn,
      args: t.args ?? [],
      holders: t.holders,
      ...(resume !== undefined ? { resume } : {}),
      ...(this.#checkpointIntervalMs !== undefined ? { checkpointIntervalMs: this.#checkpointIntervalMs } : {}),
      mailboxSize: this.messaging.mailboxSize,
    });
    this.messaging.placed(t);
    if (t.moved !== undefined) {
      const m = { from: t.moved.from, to: w.id, reason: t.moved.reason, at: Date.now(), fromCheckpoint: resume !== undefined };
      t.moved = undefined;
      const kept = (t.migrations ??= []);
      kept.push(m);
      if (kept.length > MIGRATIONS_KEPT) kept.shift();
      this.#log.info(`thread ${t.thread} of ${this.vc} moves from ${m.from} to ${m.to} (${m.reason}), ${resume !== undefined ? `resuming from checkpoint ${resume.epoch}.${resume.n}` : 'restarting from its arguments'}`);
      this.#toClient({ t: 'thread-migrated', vc: this.vc, thread: t.thread, from: m.from, to: m.to, reason: m.reason, fromCheckpoint: m.fromCheckpoint });
    }
    this.#toClient({ t: 'thread-started', vc: this.vc, thread: t.thread, host: w.id });
    this.#recovery.protect(t);
  }

  /**
   * The running thread a worker's report is about, if the report is from its current placement. A report from
   * an older placement (its host was declared dead, or it moved) is ignored, and that placement told to stop:
   * fencing by epoch, so that a falsely suspected peer never makes a second live copy of a thread.
   */
  #current(msg: { thread: number; epoch: number }, from: Sender, fenceFinished = true): ThreadRecord | undefined {
    const t = this.#threads.get(msg.thread);
    if (t === undefined || t.state !== 'running' || t.host !== from.remoteId || t.placements !== msg.epoch) {
      if (t === undefined ? fenceFinished : msg.epoch < t.placements) this.#fence(msg.thread, msg.epoch, from.remoteId);
      return undefined;
    }
    return t;
  }

  /** Tells `peer` to stop its placement `epoch` of a thread that runs elsewhere now (or finished). Once per placement. */
  #fence(thread: number, epoch: number, peer: string): void {
    const key = `${thread}:${epoch}:${peer}`;
    if (this.#fenced.has(key)) return;
    if (this.#fenced.size > 10_000) this.#fenced.clear();
    this.#fenced.add(key);
    this.#log.info(`fencing off stale placement ${epoch} of thread ${thread} of ${this.vc} on ${peer}`);
    this.#links.send(peer, { t: 'exec-fence', vc: this.vc, thread, epoch: epoch + 1 });
  }

  /** Queues a thread whose host died or left, ahead of threads never started, preferably where its checkpoint is. */
  #requeue(t: ThreadRecord, reason: string): void {
    if (t.host !== undefined) t.moved = { from: t.host, reason };
    t.prefer = this.#recovery.preferredHosts(t);
    this.#delegator.enqueue(t, true);
    this.messaging.queued(t);
  }

  /** A worker is gone: its threads resume elsewhere, from their newest acknowledged checkpoint or their arguments. */
  #workerLost(id: string, why: string): void {
    this.#delegator.removeWorker(id);
    // By host rather than by the delegator's record: a leaving worker is no longer enrolled but may still run threads.
    const lost = [...this.#threads.values()].filter((t) => t.state === 'running' && t.host === id);
    if (lost.length > 0) this.#log.info(`worker ${id} of virtual computer ${this.vc} lost (${why}); resuming ${lost.length} thread(s) elsewhere`);
    for (const t of lost.reverse()) this.#requeue(t, 'failure');
    this.#delegator.place();
  }

  /** Membership declared a peer dead: resume what it ran (if the maintainer did not already), replicate what it held. */
  #peerDead(id: string): void {
    if (this.#closed) return;
    if ([...this.#threads.values()].some((t) => t.state === 'running' && t.host === id)) this.#workerLost(id, 'it was declared dead');
    this.#recovery.peerDead(id);
  }

  #peerUpdate(p: PeerInfo): void {
    const w = this.#delegator.workers.get(p.id);
    if (w === undefined) return;
    // Gossip tells how busy the worker is overall; what is not ours belongs to other virtual computers.
    w.others = Math.max(0, p.slots - p.freeSlots - w.running.size);
    this.#delegator.place();
  }

  #fail(t: ThreadRecord, name: string, message: string, stack: string): void {
    this.#finish(t, 'failed');
    this.#toClient({ t: 'thread-error', vc: this.vc, thread: t.thread, name, message, stack });
  }

  #finish(t: ThreadRecord, state: ThreadState): void {
    t.state = state;
    this.messaging.ended(t);
    t.args = undefined;
    this.#threads.delete(t.thread);
    this.#finished[state as 'done' | 'failed' | 'cancelled']++;
    this.#recent.push(threadStatus(t, this.#recovery));
    this.#recovery.finished(t.thread);
    if (this.#recent.length > RECENT_FINISHED) this.#recent.shift();
  }

  #explainShortfall(minWorkers: number, enrolTimeoutMs: number): string {
    const enrolled = this.#delegator.workers.size;
    const others = this.#peer.membership.peers({ includeSelf: false }).filter((p) => p.state !== 'dead');
    const head =
      `Could not enrol ${minWorkers} worker(s) within ${enrolTimeoutMs} ms: enrolled ${enrolled} of the ${this.quota} requested. ` +
      `Controller ${this.#peer.id} knows ${others.length} other live peer(s)`;
    if (others.length === 0 && this.#refusals.size === 0) {
      return `${head}; none has joined it yet (start peers with: ppp2p peer --join ${this.#peer.url} --swarm-key-file <the same key>).`;
    }
    const reasons = [...this.#refusals].map(([id, why]) => {
      const url = this.#peer.membership.peer(id)?.url;
      return `peer ${id}${url !== undefined ? ` (${url})` : ''}: ${why}`;
    });
    return `${head}; ${reasons.length} refused: ${reasons.join('; ')}.`;
  }

  #toClient(msg: Message): void {
    if (!this.client.isOpen) return;
    try {
      this.client.send(msg);
    } catch (err) {
      this.#log.debug(`cannot send '${msg.t}' to application ${this.client.remoteId}: ${(err as Error).message}`);
    }
  }
}

function isFinished(state: ThreadState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

function threadStatus(t: ThreadRecord, recovery: Recovery): ThreadStatus {
  const checkpoint = recovery.checkpointStatus(t.thread);
  const protection = recovery.protection(t);
  return {
    thread: t.thread,
    fn: t.fn,
    state: t.state,
    ...(t.host !== undefined ? { host: t.host } : {}),
    progress: t.progress,
    placements: t.placements,
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    ...(protection !== undefined ? { protection } : {}),
    ...(t.migrations !== undefined ? { migrations: t.migrations } : {}),
  };
}

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
    if (msg.workers < 1) throw Object.assign(new Error('workers must be at least 1'), { code: 'ERR_INVALID_OPTION' });
    if (msg.mailboxSize !== undefined && (msg.mailboxSize < 1 || msg.mailboxSize > 1_000_000)) {
      throw Object.assign(new Error(`mailboxSize must be from 1 to 1000000, got ${msg.mailboxSize}`), { code: 'ERR_INVALID_OPTION' });
    }
    if (msg.lockLeaseMs !== undefined && msg.lockLeaseMs < 10) {
      throw Object.assign(new Error(`lockLeaseMs must be at least 10, got ${msg.lockLeaseMs}`), { code: 'ERR_INVALID_OPTION' });
    }
    if (msg.replicas !== undefined && (msg.replicas < 1 || msg.replicas > 16)) {
      throw Object.assign(new Error(`checkpoint replicas must be from 1 to 16, got ${msg.replicas}`), { code: 'ERR_INVALID_OPTION' });
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
    if (owner !== from.remoteId) throw Object.assign(new Error(`only the owner of ${msg.vc} may have its checkpoints copied`), { code: 'ERR_FORBIDDEN' });
    const put = { t: 'checkpoint-put', vc: msg.vc, owner, thread: msg.thread, epoch: msg.epoch, n: msg.n, snapshot } as const;
    const reply = await this.links.request(msg.to, put, REPLICATE_PUT_TIMEOUT_MS);
    if (reply.t !== 'checkpoint-put-reply') throw new Error(`unexpected reply '${reply.t}' to checkpoint-put`);
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
