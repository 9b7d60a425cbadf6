/**
 * The deployer (paper's name): one per virtual computer of a local application, inside the controller the
 * application connects to. It owns the virtual computer's workers (through its enrolment requestor and worker
 * quota maintainer) and threads (through its virtual thread delegator), and relays each thread's progress,
 * result or error to the application.
 *
 * The deployers of a peer are created by its virtual-computer layer (daemon/virtual-computer-layer.ts) on
 * `vc-create` and reached through it.
 */
import type { Connection } from '../../protocol/connection.ts';
import type { Logger } from '../../protocol/log.ts';
import type { PeerController } from '../peer-controller.ts';
import type { PeerInfo } from '../swarm/participation-manager.ts';
import type { Message, MessageOf } from '../../protocol/messages.ts';
import { isAssemblyHash } from '../../protocol/assembly.ts';
import { EnrolmentRequestor } from '../swarm/enrolment-requestor.ts';
import { WorkerQuotaMaintainer } from './worker-quota-maintainer.ts';
import { VirtualThreadDelegator, type ThreadRecord, type ThreadState, type WorkerRecord } from './virtual-thread-delegator.ts';
import { PeerLinks } from '../peer-links.ts';
import type { HandlerTable, Sender } from '../message-handlers.ts';
import { Recovery } from './recovery.ts';
import type { MessageManager } from '../host/message-manager.ts';
import { DeployerMessaging } from './deployer-messaging.ts';
import { EnrolmentError, ErrorCode } from '../../protocol/errors.ts';
import { newPlacementToken, samePlacementToken } from '../placement-token.ts';

/** How often a deployer checks its placements with their hosts (placement leases). */
const PLACEMENT_LEASE_CHECK_MS = 5000;

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
  /** Executor crashes a thread may cause before it fails (BOINC's max_error_results). @default 3 */
  maxErrors?: number;
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
  /** This peer was held dead by others and came back: its workers may have dropped its threads. */
  readonly #onSelfRefuted = (): void => void this.#checkLeases('this controller was held dead by other peers');
  /** Placements are leases: checked with their hosts this often, and at once after this peer was held dead. */
  #leaseTimer: NodeJS.Timeout | undefined;
  #checkingLeases = false;
  #closed = false;
  readonly #maxErrors: number;
  /** `<worker> <assembly>` of every exec sent: the workers that may fetch each assembly's code from this controller. */
  readonly #shipped = new Set<string>();
  /** Each thread's executor crashes so far (worker and reason), cleared when it finishes. */
  readonly #crashes = new Map<number, string[]>();

  constructor(init: DeployerInit) {
    this.vc = init.vc;
    this.#maxErrors = init.maxErrors ?? 3;
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
      hosts: (peer) => [...this.#threads.values()].some((t) => t.state === 'running' && t.host === peer),
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
    this.#peer.membership.on('self-refuted', this.#onSelfRefuted);
    this.#leaseTimer = setInterval(() => void this.#checkLeases('lease check'), PLACEMENT_LEASE_CHECK_MS);
    this.#leaseTimer.unref();
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
      const token = t.token!;
      this.#delegator.release(t);
      this.#finish(t, 'cancelled');
      try {
        await this.#links.request(host, { t: 'exec-cancel', vc: this.vc, thread, token }, 5000);
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
    if (msg.code === ErrorCode.NOT_ENROLLED) {
      // The worker dropped this virtual computer (it thought the owner dead): enrol someone else.
      this.#workerLost(from.remoteId, msg.message);
      this.#maintainer.poke();
      return;
    }
    this.#delegator.release(t, msg.others);
    if (msg.code === ErrorCode.EXECUTOR_CRASHED) {
      // Its executor died under it (killed, crashed): not the thread's own error, but maybe its doing. Run it again
      // from its last checkpoint, elsewhere if possible, until it has done so maxErrors times.
      const crashes = (this.#crashes.get(t.thread) ?? []).concat(`on ${from.remoteId}: ${msg.message}`);
      this.#crashes.set(t.thread, crashes);
      if (crashes.length >= this.#maxErrors) {
        this.#log.warn(`thread ${t.thread} of ${this.vc} crashed its executor ${crashes.length} times; it fails`);
        this.#finish(t, 'failed');
        this.#toClient({
          t: 'thread-error',
          vc: this.vc,
          thread: t.thread,
          name: 'ThreadCrashedError',
          code: ErrorCode.THREAD_CRASHED,
          message: `Thread ${t.thread} crashed its executor ${crashes.length} times (maxErrors ${this.#maxErrors}); it is not retried. Crashes: ${crashes.map((c, i) => `(${i + 1}) ${c}`).join('; ')}`,
          stack: '',
          reasons: crashes.slice(-64),
        });
      } else {
        this.#log.warn(`thread ${t.thread} of ${this.vc} crashed its executor on ${from.remoteId} (${crashes.length} of ${this.#maxErrors}): ${msg.message}; resuming it`);
        this.#requeue(t, 'executor crash');
      }
    } else if (msg.code === ErrorCode.RESOURCE_LIMIT) {
      this.#finish(t, 'failed');
      this.#toClient({ t: 'thread-error', vc: this.vc, thread: t.thread, name: 'ResourceLimitError', code: ErrorCode.RESOURCE_LIMIT, message: msg.message, stack: msg.stack, peer: from.remoteId, ...(msg.limit !== undefined ? { limit: msg.limit } : {}) });
    } else if (msg.code === ErrorCode.CHECKPOINT_UNAVAILABLE) {
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

  /** Whether this virtual computer sent `peer` a thread of assembly `hash` (who may fetch its code). */
  shippedTo(peer: string, hash: string): boolean {
    return this.#shipped.has(`${peer} ${hash}`);
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
    this.#peer.membership.off('self-refuted', this.#onSelfRefuted);
    clearInterval(this.#leaseTimer);
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
    t.token = newPlacementToken();
    this.#recovery.grant(t, w.id, resume?.holders ?? []);
    this.#shipped.add(`${w.id} ${t.assembly}`);
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
      token: t.token,
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
  #current(msg: { t: string; thread: number; epoch: number; token: Uint8Array }, from: Sender, fenceFinished = true): ThreadRecord | undefined {
    const t = this.#threads.get(msg.thread);
    if (t === undefined || t.state !== 'running' || t.host !== from.remoteId || t.placements !== msg.epoch) {
      // Only a peer that hosted the thread (or is told so by a stale report of its own) is fenced, and only once.
      if (t === undefined ? fenceFinished : msg.epoch < t.placements) this.#fence(msg.thread, msg.epoch, from.remoteId);
      else if (t !== undefined && t.host !== from.remoteId && msg.epoch >= t.placements) this.#refused(msg, from, `it is hosted by ${t.host ?? 'no peer'}`);
      return undefined;
    }
    if (!samePlacementToken(t.token, msg.token)) {
      this.#refused(msg, from, 'its placement token is wrong');
      return undefined;
    }
    return t;
  }

  /** A report about a placement that the sender does not hold: dropped, with one warning line. */
  #refused(msg: { t: string; thread: number; epoch: number }, from: Sender, why: string): void {
    this.#log.warn(`dropped '${msg.t}' for thread ${msg.thread} (placement ${msg.epoch}) of ${this.vc} from ${from.remoteId}: ${why}`);
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

  /**
   * Reconciles the placements this deployer believes run with what their hosts run. A host that no longer runs a
   * placement (it dropped this virtual computer after holding its owner dead, or lost it any other way) gives it
   * back: the thread resumes elsewhere from its newest checkpoint, or from its arguments, and its effects are
   * de-duplicated as after any failure. A placement is never shown running where nothing runs.
   */
  async #checkLeases(why: string): Promise<void> {
    if (this.#closed || this.#checkingLeases) return;
    this.#checkingLeases = true;
    try {
      const byHost = new Map<string, Map<number, number>>();
      for (const t of this.#threads.values()) {
        if (t.state !== 'running' || t.host === undefined) continue;
        let m = byHost.get(t.host);
        if (m === undefined) byHost.set(t.host, (m = new Map()));
        m.set(t.thread, t.placements);
      }
      await Promise.all(
        [...byHost].map(async ([host, asked]) => {
          let reply;
          try {
            reply = await this.#links.request(host, { t: 'exec-list', vc: this.vc }, PLACEMENT_LEASE_CHECK_MS);
          } catch (err) {
            // An unreachable host is the failure detector's business: it declares the host dead if it is.
            this.#log.debug(`${why}: cannot ask ${host} about its placements: ${(err as Error).message}`);
            return;
          }
          if (this.#closed) return;
          const runs = new Set(reply.placements.map((p) => `${p.thread}:${p.epoch}`));
          // Only placements unchanged since the question: replies come after every earlier message of the host.
          const gone = [...asked].filter(([thread, epoch]) => {
            const t = this.#threads.get(thread);
            return t !== undefined && t.state === 'running' && t.host === host && t.placements === epoch && !runs.has(`${thread}:${epoch}`);
          });
          if (gone.length === 0) return;
          if (gone.length === asked.size && reply.placements.length === 0) {
            this.#workerLost(host, `${why}: it runs none of this virtual computer's placements any more`);
            this.#maintainer.poke();
            return;
          }
          this.#log.info(`${why}: ${host} no longer runs ${gone.length} placement(s) of ${this.vc}; resuming them elsewhere`);
          for (const [thread] of gone) {
            const t = this.#threads.get(thread)!;
            this.#delegator.release(t);
            this.#requeue(t, 'failure');
          }
          this.#delegator.place();
        }),
      );
    } finally {
      this.#checkingLeases = false;
    }
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
    this.#crashes.delete(t.thread);
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

/**
 * What workers send a deployer about its threads: progress, results, errors, checkpoints, hand-backs and a
 * worker's leave. `deployer(vc)` is this peer's deployer of `vc`; messages for one it does not have are dropped.
 */
export function deployerHandlers(deployer: (vc: string) => Deployer | undefined): HandlerTable {
  return {
    'exec-progress': { peer: (msg, from) => deployer(msg.vc)?.onProgress(msg, from) },
    'exec-result': { peer: (msg, from) => deployer(msg.vc)?.onResult(msg, from) },
    'exec-error': { peer: (msg, from) => deployer(msg.vc)?.onError(msg, from) },
    'exec-checkpoint': { peer: (msg, from) => deployer(msg.vc)?.onCheckpoint(msg, from) },
    'exec-handback': { peer: (msg, from) => deployer(msg.vc)?.onHandback(msg, from) },
    'worker-leaving': { peer: (msg, from) => deployer(msg.vc)?.onWorkerLeaving(from) },
  };
}
