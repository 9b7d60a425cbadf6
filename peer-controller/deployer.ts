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
import type { Connection } from './connection.ts';
import type { Logger } from './log.ts';
import type { PeerController } from './peer.ts';
import type { PeerInfo } from './participation-manager.ts';
import type { Message, MessageOf, ReplyInput, Role } from './protocol/messages.ts';
import { AssemblyStore, isAssemblyHash } from './assembly-manager.ts';
import { EnrolmentRequestor } from './enrolment-requestor.ts';
import { WorkerQuotaMaintainer } from './worker-quota-maintainer.ts';
import { VirtualThreadDelegator, type ThreadRecord, type ThreadState, type WorkerRecord } from './virtual-thread-delegator.ts';
import { PeerLinks, Worker, type Sender, type WorkerOptions } from './worker.ts';

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
}

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
  #closed = false;

  constructor(init: DeployerInit) {
    this.vc = init.vc;
    this.client = init.client;
    this.quota = init.quota;
    this.#links = init.links;
    this.#peer = init.peer;
    this.#log = init.log;
    this.#delegator = new VirtualThreadDelegator({ dispatch: (w, t) => this.#dispatch(w, t) });
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
    this.#fail(t, msg.name, msg.message, msg.stack);
    this.#delegator.place();
  }

  status(): VcStatus {
    const unfinished: ThreadStatus[] = [];
    for (const t of this.#threads.values()) if (!isFinished(t.state)) unfinished.push(threadStatus(t));
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
    for (const id of this.#delegator.workers.keys()) this.#links.send(id, { t: 'dismiss', vc: this.vc });
    this.#delegator.workers.clear();
    this.#threads.clear();
    this.#log.debug(`virtual computer ${this.vc} closed: ${why}`);
  }

  #dispatch(w: WorkerRecord, t: ThreadRecord): void {
    this.#links.send(w.id, {
      t: 'exec',
      vc: this.vc,
      epoch: t.placements,
      count: t.count,
      thread: t.thread,
      assembly: t.assembly,
      fn: t.fn,
      args: t.args ?? [],
    });
    this.#toClient({ t: 'thread-started', vc: this.vc, thread: t.thread, host: w.id });
  }

  /** The running thread a worker's report is about, if the report is from its current placement. */
  #current(msg: { thread: number; epoch: number }, from: Sender): ThreadRecord | undefined {
    const t = this.#threads.get(msg.thread);
    if (t === undefined || t.state !== 'running' || t.host !== from.remoteId || t.placements !== msg.epoch) return undefined;
    return t;
  }

  /** A worker is gone: its threads here start again elsewhere, from their spawn arguments. */
  #workerLost(id: string, why: string): void {
    const threads = this.#delegator.removeWorker(id);
    if (threads.length > 0) this.#log.info(`worker ${id} of virtual computer ${this.vc} lost (${why}); restarting ${threads.length} thread(s)`);
    for (const n of threads.reverse()) {
      const t = this.#threads.get(n);
      if (t !== undefined && t.state === 'running') this.#delegator.enqueue(t, true);
    }
    this.#delegator.place();
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
    t.args = undefined;
    this.#threads.delete(t.thread);
    this.#finished[state as 'done' | 'failed' | 'cancelled']++;
    this.#recent.push(threadStatus(t));
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

function threadStatus(t: ThreadRecord): ThreadStatus {
  return {
    thread: t.thread,
    fn: t.fn,
    state: t.state,
    ...(t.host !== undefined ? { host: t.host } : {}),
    progress: t.progress,
    placements: t.placements,
  };
}

export interface VirtualComputerLayerOptions extends WorkerOptions {}

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
  readonly #peer: PeerController;
  readonly #log: Logger;
  readonly #deployers = new Map<string, Deployer>();
  readonly #unregister: (() => void)[] = [];
  #closed = false;

  private constructor(peer: PeerController, opts: VirtualComputerLayerOptions) {
    this.#peer = peer;
    this.#log = peer.log.child('deployer');
    this.assemblies = new AssemblyStore(peer.dataDir);
    this.links = new PeerLinks(peer, (msg, from) => this.#route(msg, from), peer.log.child('links'));
    this.worker = new Worker(peer, this.links, this.assemblies, opts, peer.log.child('worker'));
    const route = (msg: Message, conn: Connection): ReplyInput | void | Promise<ReplyInput | void> => this.#route(msg, conn, conn);
    const h = this.#unregister;
    for (const t of ['vc-create', 'vc-close', 'assembly-offer', 'assembly-put', 'spawn', 'cancel'] as const) h.push(peer.handle(t, route, clientOnly));
    for (const t of ['enrol', 'dismiss', 'exec', 'exec-cancel', 'exec-progress', 'exec-result', 'exec-error', 'assembly-fetch'] as const) {
      h.push(peer.handle(t, route, peersOnly));
    }
    h.push(peer.handle('vc-status', route));
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
    };
  }

  /** Closes every deployer (dismissing its workers) and stops the executors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#deployers.values()) d.close('the controller is stopping');
    this.#deployers.clear();
    for (const u of this.#unregister) u();
    await this.worker.close();
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
      default:
        return;
    }
  }

  async #create(msg: MessageOf<'vc-create'>, client: Connection): Promise<ReplyInput> {
    if (msg.workers < 1) throw Object.assign(new Error('workers must be at least 1'), { code: 'ERR_INVALID_OPTION' });
    const vc = randomBytes(8).toString('hex');
    const d = new Deployer({
      vc,
      client,
      quota: msg.workers,
      links: this.links,
      peer: this.#peer,
      selfEnrolable: this.worker.executors.slots > 0,
      log: this.#log,
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
