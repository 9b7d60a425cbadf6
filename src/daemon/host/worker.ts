/**
 * The worker (paper's name): this peer's side of its enrolment in other peers' virtual computers.
 *
 * A deployer asks to enrol this peer (`enrol`); the worker accepts while it has a free slot, then runs the
 * threads the deployer's delegator sends it (`exec`) in its executors, fetching each thread's assembly from
 * the deployer's controller on first use. Progress, the result or the error go back to the deployer
 * (`exec-progress`, `exec-result`, `exec-error`). A virtual computer's threads here stop when its deployer
 * dismisses this worker or cancels them, and when the owner peer is declared dead.
 *
 * Any peer can be a worker, the deployer's own controller included: then messages between the two go
 * through PeerLinks' local path (peer-links.ts) instead of a socket.
 */
import type { Logger } from '../../protocol/log.ts';
import type { PeerController } from '../peer-controller.ts';
import type { MessageOf, ReplyInput } from '../../protocol/messages.ts';
import type { PeerLinks } from '../peer-links.ts';
import type { HandlerTable, Sender } from '../message-handlers.ts';
import { Executors, type ExecHandle, type ExecutorOptions } from './executor.ts';
import { planSandbox, type SandboxPlan } from './sandbox.ts';
import { CancelledError, ExecutorCrashError } from '../errors.ts';
import { ErrorCode, NoAssemblyError } from '../../protocol/errors.ts';
import { AssemblyStore } from './assembly-manager.ts';
import { isAssemblyHash } from '../../protocol/assembly.ts';
import { ResourceLimitError, ThreadError } from '../../runtime/errors.ts';
import { CheckpointSender } from './checkpoint-sender.ts';
import { formatVersion } from './checkpoint-store.ts';
import type { MessageManager } from './message-manager.ts';
import type { LocalThread } from './local-thread.ts';
import type { HostNotice } from '../../runtime/worker-messages.ts';
import { samePlacementToken } from '../placement-token.ts';

/** A thread this worker runs (or is fetching the code of). */
interface Running {
  thread: number;
  epoch: number;
  /** The placement's task token (exec.token): every report about the placement echoes it. */
  token: Uint8Array;
  fn: string;
  since: number;
  handle: ExecHandle | undefined;
  cancelled: boolean;
  /** Replicates the placement's snapshots to its holders (checkpoint-sender.ts). */
  sender: CheckpointSender | undefined;
  /** This peer leaves: the thread stops at its next snapshot and is handed back to its deployer. */
  leaving: boolean;
  /** Resolves when the placement is over here (finished, failed, stopped or handed back). */
  ended: Promise<void>;
  end(): void;
  /** Its mailbox and channels (message-manager.ts), when this peer does message passing. */
  messaging?: LocalThread;
}

/** This worker's membership in one virtual computer. */
interface Enrolment {
  vc: string;
  owner: string;
  threads: Map<number, Running>;
}

export interface WorkerOptions {
  /** Threads this peer runs at once; 0 for a controller that is never enrolled. @default the peer's slots */
  slots?: number;
  /** Heap limit per thread in MB. @default 512 */
  memoryLimitMb?: number;
  /** How threads are isolated (sandbox.ts). @default planSandbox(): strict where bubblewrap runs, else process */
  sandbox?: SandboxPlan;
  /** Limits of every thread and executor process (CPU seconds, wall seconds, memory, output). */
  limits?: ExecutorOptions['limits'];
}

/** How often at most free-slot changes are gossiped (they can change thousands of times a second). */
const FREE_SLOTS_ADVERTISE_MS = 200;
/** How long a resuming placement waits for a holder to send its checkpoint. */
const CHECKPOINT_FETCH_TIMEOUT_MS = 30_000;
/** How long a leaving peer waits for its threads to reach a checkpoint. */
const DEFAULT_LEAVE_TIMEOUT_MS = 15_000;

export class Worker {
  readonly executors: Executors;
  readonly assemblies: AssemblyStore;
  readonly #peer: PeerController;
  readonly #links: PeerLinks;
  readonly #log: Logger;
  readonly #enrolments = new Map<string, Enrolment>();
  #advertiseTimer: NodeJS.Timeout | undefined;
  #closing = false;
  /** Why this peer accepts no work now (outside its hours, its machine in use), or undefined. */
  #paused: string | undefined;
  /** Whether a deployer of this peer sent `peer` a thread of assembly `hash` (set by the virtual-computer layer). */
  shippedTo: (peer: string, hash: string) => boolean = () => false;
  /** The donor's owner lists and per-owner quota: a refusal reason for `owner`, or undefined to accept. */
  admitOwner: (owner: string, runningForOwner: number) => string | undefined = () => undefined;
  readonly #messages: MessageManager | undefined;

  constructor(peer: PeerController, links: PeerLinks, assemblies: AssemblyStore, opts: WorkerOptions, log: Logger, messages?: MessageManager) {
    this.#messages = messages;
    this.#peer = peer;
    this.#links = links;
    this.assemblies = assemblies;
    this.#log = log;
    this.executors = new Executors({
      slots: opts.slots ?? peer.slots,
      memoryLimitMb: opts.memoryLimitMb,
      sandbox: opts.sandbox ?? planSandbox(undefined, false),
      limits: opts.limits,
      assemblyDirFor: (owner) => assemblies.ownerDir(owner),
      log: log.child('executor'),
    });
    this.executors.onFreeSlotsChange = () => this.#advertise();
    if (this.executors.slots !== peer.slots) peer.setFreeSlots(this.executors.freeSlots);
    peer.membership.on('peer-dead', (p) => this.ownerGone(p.id, `owner peer ${p.id} was declared dead`));
  }

  /** Threads running here, for `ppp2p status`. */
  executing(): { vc: string; owner: string; thread: number; fn: string; since: number }[] {
    const out: { vc: string; owner: string; thread: number; fn: string; since: number }[] = [];
    for (const e of this.#enrolments.values()) {
      for (const r of e.threads.values()) out.push({ vc: e.vc, owner: e.owner, thread: r.thread, fn: r.fn, since: r.since });
    }
    return out;
  }

  /** The worker's handler table: what deployers of other (or this) peer's virtual computers send it. */
  handlers(): HandlerTable {
    return {
      enrol: { peer: (msg, from) => this.onEnrol(msg, from) },
      dismiss: { peer: (msg, from) => this.onDismiss(msg, from) },
      exec: { peer: (msg, from) => this.onExec(msg, from) },
      'exec-cancel': { peer: (msg, from) => this.onExecCancel(msg, from) },
      'exec-holders': { peer: (msg, from) => this.onExecHolders(msg, from) },
      'exec-fence': { peer: (msg, from) => this.onExecFence(msg, from) },
      'assembly-fetch': { peer: (msg, from) => this.onAssemblyFetch(msg, from) },
      'exec-list': { peer: (msg, from) => this.onExecList(msg, from) },
    };
  }

  /**
   * The placements of `msg.vc` this worker runs, for its owner only (anyone else learns nothing). A virtual computer
   * this worker dropped, or never enrolled in, has none.
   */
  onExecList(msg: MessageOf<'exec-list'>, from: Sender): ReplyInput {
    const e = this.#enrolments.get(msg.vc);
    if (e === undefined || e.owner !== from.remoteId) return { t: 'exec-list-reply', placements: [] };
    return { t: 'exec-list-reply', placements: [...e.threads.values()].map((r) => ({ thread: r.thread, epoch: r.epoch })) };
  }

  onEnrol(msg: MessageOf<'enrol'>, from: Sender): ReplyInput {
    const { slots, freeSlots: free } = this.executors;
    const refuse = (reason: string): ReplyInput => ({ t: 'enrol-reply', accepted: false, reason, slots, free, speed: this.#peer.speed });
    if (msg.owner !== from.remoteId) return refuse(`the enrolment names owner ${msg.owner} but comes from ${from.remoteId}`);
    const known = this.#enrolments.get(msg.vc);
    if (known !== undefined && known.owner !== from.remoteId) return refuse(`virtual computer ${msg.vc} belongs to another owner here`);
    if (this.#closing) return refuse('the peer is shutting down');
    if (this.#paused !== undefined) return refuse(`the peer accepts no work now: ${this.#paused}`);
    const refusal = this.admitOwner(from.remoteId, this.#runningFor(from.remoteId));
    if (refusal !== undefined) return refuse(refusal);
    if (slots === 0) return refuse('the peer runs no threads (it has 0 slots)');
    if (!this.#enrolments.has(msg.vc) && free === 0) return refuse(`no free slots (${slots} of ${slots} busy)`);
    if (!this.#enrolments.has(msg.vc)) this.#enrolments.set(msg.vc, { vc: msg.vc, owner: from.remoteId, threads: new Map() });
    this.#log.debug(`enrolled in virtual computer ${msg.vc} of ${from.remoteId}`);
    // Sandboxed, an owner's threads run in executor processes of their own: start one while the deployer places.
    this.executors.prepare(from.remoteId);
    return { t: 'enrol-reply', accepted: true, slots, free, speed: this.#peer.speed };
  }

  onDismiss(msg: MessageOf<'dismiss'>, from: Sender): void {
    const e = this.#enrolments.get(msg.vc);
    if (e === undefined || e.owner !== from.remoteId) return;
    this.#drop(e, 'dismissed');
  }

  onExec(msg: MessageOf<'exec'>, from: Sender): void {
    const e = this.#enrolments.get(msg.vc);
    const fail = (message: string): void =>
      this.#links.send(from.remoteId, {
        t: 'exec-error',
        vc: msg.vc,
        thread: msg.thread,
        epoch: msg.epoch,
        name: 'NotEnrolledError',
        code: ErrorCode.NOT_ENROLLED,
        message,
        stack: '',
        others: this.#others(msg.vc),
        token: msg.token,
      });
    if (e === undefined || e.owner !== from.remoteId) return fail(`peer ${this.#peer.id} is not enrolled in virtual computer ${msg.vc}`);
    const old = e.threads.get(msg.thread);
    if (old !== undefined) {
      if (old.epoch >= msg.epoch) return; // a duplicate
      this.#stop(old);
    }
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const sender = new CheckpointSender({ links: this.#links, log: this.#log, vc: msg.vc, owner: e.owner, thread: msg.thread, epoch: msg.epoch, token: msg.token, holders: msg.holders ?? [] });
    const r: Running = { thread: msg.thread, epoch: msg.epoch, token: msg.token, fn: msg.fn, since: Date.now(), handle: undefined, cancelled: false, sender, leaving: false, ended, end };
    // The mailbox exists from now on: messages for the thread are held while its code loads.
    const notify = (n: HostNotice): void => r.handle?.notify?.(n);
    r.messaging = this.#messages?.threadStarted({ vc: msg.vc, owner: e.owner, thread: msg.thread, epoch: msg.epoch, token: msg.token, mailboxSize: msg.mailboxSize, notify });
    e.threads.set(msg.thread, r);
    if (this.#closing) return this.#handBack(e, r, 'the peer is leaving');
    if (this.#paused !== undefined) return this.#handBack(e, r, `the peer accepts no work now: ${this.#paused}`);
    const refusal = this.admitOwner(e.owner, this.#runningFor(e.owner) - 1);
    if (refusal !== undefined) return this.#handBack(e, r, refusal);
    void this.#run(e, r, msg).finally(() => {
      r.messaging?.end('finished');
      r.sender?.close();
      r.end();
    });
  }

  onExecCancel(msg: MessageOf<'exec-cancel'>, from: Sender): ReplyInput {
    const e = this.#enrolments.get(msg.vc);
    const r = e?.owner === from.remoteId ? e.threads.get(msg.thread) : undefined;
    if (e === undefined || r === undefined) {
      if (e !== undefined && e.owner !== from.remoteId) this.#log.warn(`refused an exec-cancel of thread ${msg.thread} of ${msg.vc} from ${from.remoteId}: not its owner`);
      return { t: 'exec-cancel-reply', found: false };
    }
    if (!samePlacementToken(r.token, msg.token)) {
      this.#log.warn(`refused an exec-cancel of thread ${msg.thread} of ${msg.vc} from ${from.remoteId}: wrong placement token`);
      return { t: 'exec-cancel-reply', found: false };
    }
    e.threads.delete(msg.thread);
    this.#stop(r);
    return { t: 'exec-cancel-reply', found: true };
  }

  /**
   * The code of an assembly, for a peer this peer's deployers sent a thread of it to, and no one else: an owner's
   * code is not every key holder's to download by hash. A refusal reads as "not held", so that it does not tell
   * whether the assembly exists.
   */
  onAssemblyFetch(msg: MessageOf<'assembly-fetch'>, from: Sender): ReplyInput {
    const code = this.shippedTo(from.remoteId, msg.hash) ? this.assemblies.serve(msg.hash) : undefined;
    if (code === undefined) throw new NoAssemblyError(`peer ${this.#peer.id} does not hold assembly ${msg.hash}`);
    return { t: 'assembly-fetch-reply', code };
  }

  /** Drops every virtual computer owned by `owner` (it died or its controller went away). */
  ownerGone(owner: string, why: string): void {
    for (const e of [...this.#enrolments.values()]) {
      if (e.owner === owner) {
        this.#log.info(`dropping virtual computer ${e.vc}: ${why}`);
        this.#drop(e, why);
      }
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#advertiseTimer);
    for (const e of [...this.#enrolments.values()]) this.#drop(e, 'the peer is shutting down');
    await this.executors.close();
  }

  async #run(e: Enrolment, r: Running, msg: MessageOf<'exec'>): Promise<void> {
    const owner = e.owner;
    const base = { vc: e.vc, thread: r.thread, epoch: r.epoch, token: r.token };
    const current = (): boolean => !r.cancelled && e.threads.get(r.thread) === r && this.#enrolments.get(e.vc) === e;
    // The checkpoint travels while the assembly loads: both are on the failover's critical path.
    const fetching = msg.resume === undefined ? undefined : this.#fetchCheckpoint(e.vc, msg);
    fetching?.catch(() => {});
    let module: string;
    try {
      if (!isAssemblyHash(msg.assembly)) throw new Error(`'${msg.assembly}' is not an assembly hash`);
      module = await this.assemblies.load(msg.assembly, owner, async () => {
        const reply = await this.#links.request(owner, { t: 'assembly-fetch', hash: msg.assembly }, 60_000);
        return reply.code;
      });
    } catch (err) {
      if (!current()) return;
      e.threads.delete(r.thread);
      this.#links.send(owner, {
        t: 'exec-error',
        ...base,
        name: 'AssemblyError',
        message: `Cannot load the code of ${msg.fn}() on peer ${this.#peer.id}: ${(err as Error).message}`,
        stack: '',
        others: this.#others(e.vc),
      });
      return;
    }
    if (!current()) return;
    let snapshot: Uint8Array | undefined;
    if (fetching !== undefined) {
      try {
        snapshot = await fetching;
      } catch (err) {
        if (!current()) return;
        e.threads.delete(r.thread);
        // Not the thread's failure: its deployer resumes it from older state instead.
        this.#links.send(owner, { t: 'exec-error', ...base, name: 'CheckpointUnavailableError', code: ErrorCode.CHECKPOINT_UNAVAILABLE, message: (err as Error).message, stack: '', others: this.#others(e.vc) });
        return;
      }
      if (!current()) return;
    }
    const policy = msg.checkpointIntervalMs === undefined ? undefined : { minIntervalMs: msg.checkpointIntervalMs };
    r.handle = this.executors.submit(
      { owner, module, exportName: msg.fn, args: msg.args, threadId: msg.thread, threadCount: msg.count, snapshot, policy, mailboxSize: r.messaging?.mailboxSize },
      {
        ...r.messaging?.events,
        onSnapshot: (bytes, info) => {
          if (!current()) return 'continue';
          r.sender?.offer(bytes, info);
          // Leaving: the thread lives on in this snapshot only, resumed elsewhere once a holder has it.
          return r.leaving ? 'stop' : 'continue';
        },
        onProgress: (value, seq) => {
          if (current()) this.#links.send(owner, { t: 'exec-progress', ...base, seq, value });
        },
      },
    );
    try {
      const outcome = await r.handle.done;
      if (!current()) return;
      if ('stopped' in outcome) {
        const held = (await r.sender?.flush()) === true;
        if (!current()) return;
        const why = this.#paused ?? 'the peer left';
        this.#handBack(e, r, held ? why : `${why} (its last snapshot could not be replicated)`);
        return;
      }
      e.threads.delete(r.thread);
      const value = 'result' in outcome ? outcome.result : undefined;
      this.#links.send(owner, { t: 'exec-result', ...base, value, others: this.#others(e.vc) });
    } catch (err) {
      if (err instanceof CancelledError || !current()) return;
      e.threads.delete(r.thread);
      const x = err as Error;
      // A limit is final; an executor that died under the thread is not the thread's error: its deployer decides.
      const code = err instanceof ResourceLimitError ? ErrorCode.RESOURCE_LIMIT : err instanceof ExecutorCrashError ? ErrorCode.EXECUTOR_CRASHED : undefined;
      if (code !== undefined) this.#log.warn(`thread ${r.thread} of ${e.vc} (owner ${owner}): ${x.message}`);
      this.#links.send(owner, {
        t: 'exec-error',
        ...base,
        ...(code !== undefined ? { code } : {}),
        ...(err instanceof ResourceLimitError ? { limit: err.limit } : {}),
        name: err instanceof ThreadError ? err.remoteName : x.name,
        message: x.message,
        stack: cleanStack(err instanceof ThreadError ? err.remoteStack : (x.stack ?? '')),
        others: this.#others(e.vc),
      });
    }
  }

  /** The snapshot a resumed placement starts from: this peer's own copy if it holds one, else a holder's. */
  async #fetchCheckpoint(vc: string, msg: MessageOf<'exec'>): Promise<Uint8Array> {
    const v = msg.resume!;
    const self = this.#peer.id;
    const holders = [...v.holders].sort((a, b) => Number(b === self) - Number(a === self));
    const failures: string[] = [];
    for (const h of holders) {
      try {
        const reply = await this.#links.request(h, { t: 'checkpoint-fetch', vc, thread: msg.thread, epoch: v.epoch, n: v.n }, CHECKPOINT_FETCH_TIMEOUT_MS);
        return reply.snapshot;
      } catch (err) {
        failures.push(`${h}: ${(err as Error).message}`);
      }
    }
    throw new Error(`checkpoint ${formatVersion(v)} of thread ${msg.thread} could not be fetched from any holder (${failures.join('; ') || 'none listed'})`);
  }

  /** New holders for a placement's checkpoints (one died); `snapshot`: take one now, no copy survived. */
  onExecHolders(msg: MessageOf<'exec-holders'>, from: Sender): void {
    const e = this.#enrolments.get(msg.vc);
    const r = e?.owner === from.remoteId ? e.threads.get(msg.thread) : undefined;
    if (r === undefined || r.epoch !== msg.epoch) return;
    if (!samePlacementToken(r.token, msg.token)) {
      this.#log.warn(`refused an exec-holders for thread ${msg.thread} of ${msg.vc} from ${from.remoteId}: wrong placement token`);
      return;
    }
    r.sender?.setHolders(msg.holders);
    if (msg.snapshot) r.handle?.requestSnapshot?.();
  }

  /** The deployer placed the thread again elsewhere: a copy of an older placement still here must stop. */
  onExecFence(msg: MessageOf<'exec-fence'>, from: Sender): void {
    const e = this.#enrolments.get(msg.vc);
    const r = e?.owner === from.remoteId ? e.threads.get(msg.thread) : undefined;
    if (e === undefined || r === undefined || r.epoch >= msg.epoch) return;
    this.#log.info(`stopping stale placement ${r.epoch} of thread ${r.thread} of ${e.vc}: it runs as placement ${msg.epoch} elsewhere`);
    e.threads.delete(r.thread);
    this.#stop(r);
  }

  /**
   * Graceful leave: refuses enrolments, tells each deployer to place nothing more here, and hands every thread
   * back at its next checkpoint opportunity, once that snapshot is held by another peer, so that it resumes
   * elsewhere with no work lost. Threads that reach no checkpoint within `timeoutMs` are stopped and handed back
   * anyway (they resume from their newest acknowledged checkpoint). Resolves when no thread is left here.
   */
  async leave(timeoutMs = DEFAULT_LEAVE_TIMEOUT_MS): Promise<void> {
    this.#closing = true;
    await this.#migrateAway(timeoutMs, 'the peer is leaving', 'the peer left');
  }

  /**
   * Stops accepting work (the donor's hours ended, its machine is in use): enrolments are refused and every thread
   * here migrates away at its next checkpoint, as on a graceful leave, but the peer stays in the swarm (it still
   * holds checkpoints and relays). {@link resume} accepts work again.
   */
  pause(reason: string, timeoutMs = DEFAULT_LEAVE_TIMEOUT_MS): Promise<void> {
    if (this.#paused !== undefined) return Promise.resolve();
    this.#paused = reason;
    this.#log.info(`accepting no work: ${reason}; migrating this peer's threads away`);
    this.#peer.setFreeSlots(0);
    return this.#migrateAway(timeoutMs, reason, reason);
  }

  resume(): void {
    if (this.#paused === undefined) return;
    this.#log.info(`accepting work again (was: ${this.#paused})`);
    this.#paused = undefined;
    this.#advertise();
  }

  /** Why the peer accepts no work now, if it does not. */
  get paused(): string | undefined {
    return this.#paused;
  }

  #runningFor(owner: string): number {
    let n = 0;
    for (const e of this.#enrolments.values()) if (e.owner === owner) n += e.threads.size;
    return n;
  }

  async #migrateAway(timeoutMs: number, reason: string, gone: string): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const e of this.#enrolments.values()) {
      // This peer's own virtual computers end with it: nothing to migrate.
      if (e.owner === this.#peer.id) continue;
      this.#links.send(e.owner, { t: 'worker-leaving', vc: e.vc });
      for (const r of [...e.threads.values()]) {
        r.leaving = true;
        waits.push(r.ended);
        if (r.handle?.started === true) r.handle.requestSnapshot?.();
        else this.#handBack(e, r, reason);
      }
    }
    if (waits.length === 0) return;
    this.#log.info(`${reason}: handing ${waits.length} thread(s) back at their next checkpoint`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const e of this.#enrolments.values()) {
      if (e.owner === this.#peer.id) continue;
      for (const r of [...e.threads.values()]) this.#handBack(e, r, `${gone} before the thread reached a checkpoint within ${timeoutMs} ms`);
    }
  }

  /** Gives a placement back to its deployer, which resumes it elsewhere from its newest acknowledged checkpoint. */
  #handBack(e: Enrolment, r: Running, reason: string): void {
    if (e.threads.get(r.thread) !== r) return;
    e.threads.delete(r.thread);
    this.#stop(r);
    this.#links.send(e.owner, { t: 'exec-handback', vc: e.vc, thread: r.thread, epoch: r.epoch, reason, token: r.token });
  }

  #stop(r: Running): void {
    r.messaging?.end('stopped');
    r.cancelled = true;
    r.handle?.cancel();
    r.sender?.close();
    r.end();
  }

  #drop(e: Enrolment, why: string): void {
    this.#enrolments.delete(e.vc);
    for (const r of e.threads.values()) this.#stop(r);
    if (e.threads.size > 0) this.#log.debug(`stopped ${e.threads.size} thread(s) of ${e.vc}: ${why}`);
    e.threads.clear();
    this.#messages?.leave(e.vc);
  }

  /** Slots busy with threads of virtual computers other than `vc`. */
  #others(vc: string): number {
    const busy = this.executors.slots - this.executors.freeSlots + this.executors.queued;
    return Math.max(0, busy - (this.#enrolments.get(vc)?.threads.size ?? 0));
  }

  #advertise(): void {
    if (this.#advertiseTimer !== undefined || this.#closing) return;
    this.#advertiseTimer = setTimeout(() => {
      this.#advertiseTimer = undefined;
      if (this.#peer.state === 'running') this.#peer.setFreeSlots(this.#paused !== undefined ? 0 : this.executors.freeSlots);
    }, FREE_SLOTS_ADVERTISE_MS);
    this.#advertiseTimer.unref();
  }
}

const runtimeDir = new URL('../../runtime/', import.meta.url).pathname;

/** Drops the runtime's and Node's own frames from a thread's stack: what is left is the user's code. */
export function cleanStack(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => !(/^\s+at /.test(line) && (line.includes(runtimeDir) || line.includes('node:internal'))))
    .join('\n');
}
