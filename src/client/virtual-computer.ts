/**
 * A virtual computer: workers enrolled from a swarm of peers, on which an application spawns virtual threads.
 *
 * ```ts
 * import { VirtualComputer } from 'ppp2p';
 * import { island } from './built/island.js';                 // a module built by `ppp2p build`
 *
 * const vc = await VirtualComputer.create({ workers: 4 });     // no controller: an embedded local swarm
 * const threads = [1, 2, 3, 4].map((seed) => vc.spawn(island, seed, 500));
 * threads[0].on('progress', (p) => console.log(p));
 * const results = await Promise.all(threads.map((t) => t.result));
 * await vc.close();
 * ```
 *
 * The SDK talks to its controller only through the protocol, as a client: `create({ controller, swarmKey })`
 * joins the swarm behind a running `ppp2p peer`; without `controller` it starts an embedded swarm (an in-process
 * controller plus `workers` child peer processes on loopback) and removes it on `close()` and at exit.
 *
 * ## `thread.count`
 * Spawns made in one turn of the event loop travel together. Every thread sees as `thread.count` the number of
 * threads spawned on the virtual computer up to the end of the turn in which it was spawned. A program that
 * spawns all its threads in one loop (then awaits them) therefore gives each of them the final count.
 */
import type { KeyObject } from 'node:crypto';
import { connect, type Connection } from '../protocol/connection.ts';
import { generateIdentity, identityFromPrivateKey, type Identity } from '../protocol/identity.ts';
import type { Message, MessageOf } from '../protocol/messages.ts';
import { bundleAssembly } from './assembly-bundler.ts';
import { lookupExport } from '../runtime/exports-registry.ts';
import { ResourceLimitError, ThreadCrashedError, ThreadError } from '../runtime/errors.ts';
import { VirtualThread, type ThreadOwner } from './virtual-thread.ts';
import { ThreadLostError, VirtualComputerClosedError } from './errors.ts';
import { ErrorCode, errorFromRemote } from '../protocol/errors.ts';
import type { EmbeddedSwarm } from './embedded-swarm.ts';
import { VirtualComputerGlobals } from './virtual-computer-globals.ts';

/** Options of {@link VirtualComputer.create}. */
export interface VirtualComputerOptions {
  /** How many workers (peers) to enrol: the quota the controller keeps as peers come and go. */
  workers: number;
  /** URL of a running `ppp2p peer` to use as this application's controller. @default an embedded local swarm */
  controller?: string;
  /** The swarm key (32 bytes, or their base64 as `ppp2p keygen` prints it). Required with `controller`. */
  swarmKey?: Uint8Array | string;
  /** Start with at least this many workers if `workers` cannot be enrolled within `enrolTimeoutMs`. @default 1 */
  minWorkers?: number;
  /** How long `create` waits for `workers` workers before settling for `minWorkers`. @default 10000 */
  enrolTimeoutMs?: number;
  /** Embedded swarm only: slots (threads at once) of each child peer. @default 1 */
  slotsPerWorker?: number;
  /**
   * Embedded swarm only: how its peers isolate threads, as `ppp2p peer --sandbox` does (`strict`, `process`), to try
   * code under a donor's sandbox before sending it to other people's machines. @default 'off' (your own code, fastest)
   */
  sandbox?: 'strict' | 'process' | 'off';
  /** Embedded swarm only: log level of the embedded peers (on stderr). @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** When threads checkpoint and how many copies are kept (see "what happens when a machine dies" in the README). */
  checkpoint?: CheckpointOptions;
  /**
   * Messages a thread's mailbox holds; also how many messages a sender may have on the way to one receiver
   * before `thread.send` waits. A sender to a full mailbox waits: nothing is dropped. @default 256
   */
  mailboxSize?: number;
  /**
   * Lease of the lock `globals.update` takes, in ms. Renewed while the holder's peer lives; when the holder's
   * peer dies, the lock is released at the end of the lease (unwritten) and the next thread gets it. @default 5000
   */
  lockLeaseMs?: number;
  /**
   * How many times a thread may take its executor down (kill or crash it: `process.exit`, a signal, a crash of the
   * runtime) before it fails with ThreadCrashedError instead of resuming again from its last checkpoint. Errors the
   * thread throws are never retried. @default 3
   */
  maxErrors?: number;
  /**
   * The application's (owner's) Ed25519 private key, for an owner identity that stays the same across runs; its
   * id is derived from the public key. @default an ephemeral key, one per process
   */
  identity?: KeyObject;
}

let processIdentity: Identity | undefined;
/** The application's default owner identity: created on first use, never written anywhere. */
function defaultIdentity(): Identity {
  return (processIdentity ??= generateIdentity());
}

/** Checkpoint policy of a virtual computer's threads. */
export interface CheckpointOptions {
  /** At most one snapshot per this many ms of a thread's run time, taken at its next `checkpoint()`. @default 1000 */
  intervalMs?: number;
  /** Peers other than the executing one that must hold each checkpoint before it counts. @default 1 */
  replicas?: number;
}

/** A worker enrolled in the virtual computer. */
export interface EnrolledWorker {
  readonly id: string;
  readonly slots: number;
  readonly speed: number;
}

/** A function that can be spawned: any function exported from a built module. */
type ThreadFunction = (...args: never[]) => unknown;

interface PendingSpawn {
  thread: number;
  moduleUrl: string;
  fn: string;
  args: unknown[];
}

const DEFAULT_ENROL_TIMEOUT_MS = 10_000;

export class VirtualComputer {
  /** The id the controller gave this virtual computer (shown by `ppp2p status`). */
  readonly id: string;
  /** URL of the controller this application talks to. */
  readonly controller: string;
  readonly #conn: Connection;
  readonly #swarm: EmbeddedSwarm | undefined;
  readonly #threads = new Map<number, VirtualThread<unknown>>();
  #workers: EnrolledWorker[];
  #nextThread = 0;
  #batch: PendingSpawn[] | undefined;
  /** Spawn batches are sent strictly in order, each after the assemblies it needs are on the controller. */
  #sending: Promise<void> = Promise.resolve();
  readonly #assemblies = new Map<string, Promise<string>>();
  #closed: Promise<void> | undefined;
  #lostReason: string | undefined;
  readonly #owner: ThreadOwner;
  /** The virtual computer's global variables: `get`, `set`, `watch` (see VirtualComputerGlobals). */
  readonly globals: VirtualComputerGlobals;

  private constructor(id: string, controller: string, conn: Connection, swarm: EmbeddedSwarm | undefined, workers: EnrolledWorker[]) {
    this.id = id;
    this.globals = new VirtualComputerGlobals(conn, id);
    this.controller = controller;
    this.#conn = conn;
    this.#swarm = swarm;
    this.#workers = workers;
    this.#owner = { cancel: (thread) => this.#cancel(thread) };
    conn.onMessage((msg) => this.#onMessage(msg));
    conn.onClose((code, reason) => {
      if (this.#closed !== undefined) return;
      this.#lostReason = `the connection to the controller at ${controller} closed (${code}${reason ? ` ${reason}` : ''})`;
      this.#failAll(new ThreadLostError(`Virtual thread lost: ${this.#lostReason}.`));
    });
  }

  /**
   * Enrols `workers` workers and returns the virtual computer. Waits up to `enrolTimeoutMs` for all of them,
   * then starts with at least `minWorkers`, or rejects with an {@link EnrolmentError}.
   */
  static async create(options: VirtualComputerOptions): Promise<VirtualComputer> {
    const opts = checkOptions(options);
    let swarm: EmbeddedSwarm | undefined;
    let url: string;
    let key: Uint8Array;
    if (opts.controller === undefined) {
      // Loaded on demand: an application that joins an existing swarm never loads the daemon's code.
      const { EmbeddedSwarm } = await import('./embedded-swarm.ts');
      swarm = await EmbeddedSwarm.start({ workers: opts.workers, slotsPerWorker: opts.slotsPerWorker, logLevel: opts.logLevel, sandbox: opts.sandbox });
      url = swarm.url;
      key = swarm.swarmKey;
    } else {
      url = opts.controller;
      key = opts.swarmKey!;
    }
    try {
      const conn = await connect(url, { swarmKey: key, role: 'client', identity: opts.identity });
      try {
        const reply = await conn.request(
          {
            t: 'vc-create',
            workers: opts.workers,
            minWorkers: opts.minWorkers,
            enrolTimeoutMs: opts.enrolTimeoutMs,
            ...(opts.checkpoint.intervalMs !== undefined ? { checkpointIntervalMs: opts.checkpoint.intervalMs } : {}),
            ...(opts.checkpoint.replicas !== undefined ? { replicas: opts.checkpoint.replicas } : {}),
            ...(opts.mailboxSize !== undefined ? { mailboxSize: opts.mailboxSize } : {}),
            ...(opts.lockLeaseMs !== undefined ? { lockLeaseMs: opts.lockLeaseMs } : {}),
            ...(opts.maxErrors !== undefined ? { maxErrors: opts.maxErrors } : {}),
          },
          opts.enrolTimeoutMs + 10_000,
        );
        return new VirtualComputer(reply.vc, url, conn, swarm, reply.workers);
      } catch (err) {
        conn.close();
        throw errorFromRemote(err); // ERR_ENROLMENT -> EnrolmentError, ERR_INVALID_OPTION -> OptionError, ...
      }
    } catch (err) {
      await swarm?.stop();
      throw err;
    }
  }

  /** The workers enrolled when the virtual computer was created. */
  get workers(): readonly EnrolledWorker[] {
    return this.#workers;
  }

  /** The embedded swarm's peer processes (empty when joined to an existing swarm). */
  get embeddedPeerPids(): readonly number[] {
    return this.#swarm?.pids ?? [];
  }

  /** The embedded swarm's child peers (peer id and process id), e.g. to kill one in a demo; empty when joined to a swarm. */
  get embeddedPeers(): readonly { peerId: string; pid: number }[] {
    return (this.#swarm?.peers ?? []).map((p) => ({ peerId: p.peerId, pid: p.pid }));
  }

  /** The embedded swarm's files (peers' data directories), removed on close; undefined when joined to a swarm. */
  get embeddedSwarmDir(): string | undefined {
    return this.#swarm?.dir;
  }

  /**
   * Runs `fn(...args)` as a virtual thread on one of the workers. `fn` must be a function exported from a
   * module built by `ppp2p build` (import the built file). Arguments travel as plain data: objects, arrays,
   * strings, numbers, booleans, null, Uint8Array, Date.
   */
  spawn<F extends ThreadFunction>(fn: F, ...args: Parameters<F>): VirtualThread<Awaited<ReturnType<F>>> {
    if (this.#closed !== undefined) throw new VirtualComputerClosedError(`Cannot spawn: virtual computer ${this.id} is closed.`);
    if (this.#lostReason !== undefined) throw new VirtualComputerClosedError(`Cannot spawn: ${this.#lostReason}.`);
    const where = lookupExport(fn);
    const name = typeof fn === 'function' && fn.name !== '' ? fn.name : 'this function';
    if (where === undefined) {
      throw new TypeError(
        `Cannot spawn ${name}: it is not a function exported from a module built by \`ppp2p build\`. ` +
          'Build the module with `ppp2p build <dir> --out <dir>` and import the built .js file (not the .ts source).',
      );
    }
    const argList = args as unknown[];
    argList.forEach((a, i) => checkPlainData(a, `${name}() argument ${i + 1}`));
    const id = this.#nextThread++;
    const thread = new VirtualThread<Awaited<ReturnType<F>>>(id, this.#owner);
    this.#threads.set(id, thread as VirtualThread<unknown>);
    if (this.#batch === undefined) {
      this.#batch = [];
      queueMicrotask(() => this.#flush());
    }
    this.#batch.push({ thread: id, moduleUrl: where.moduleUrl, fn: where.exportName, args: argList });
    return thread;
  }

  /**
   * Stops every unfinished thread (their `result` rejects with a ThreadLostError), dismisses the workers, and
   * stops the embedded swarm if there is one. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    try {
      if (this.#conn.isOpen) await this.#conn.request({ t: 'vc-close', vc: this.id }, 10_000);
    } catch {
      // The controller may be gone already; its deployer then ends with the connection.
    }
    this.#failAll(new ThreadLostError(`Virtual computer ${this.id} was closed before the thread finished.`));
    this.#conn.close();
    await this.#swarm?.stop();
  }

  #flush(): void {
    const batch = this.#batch ?? [];
    this.#batch = undefined;
    const count = this.#nextThread;
    const send = async (): Promise<void> => {
      const hashes = new Map<string, string>();
      for (const url of new Set(batch.map((s) => s.moduleUrl))) {
        try {
          hashes.set(url, await this.#ensureAssembly(url));
        } catch (err) {
          for (const s of batch) {
            if (s.moduleUrl === url) {
              this.#threads.get(s.thread)?._reject(new ThreadLostError(`Cannot ship the code of ${s.fn}(): ${(err as Error).message}`, { cause: err }));
            }
          }
        }
      }
      const threads = batch.flatMap((s) => {
        const assembly = hashes.get(s.moduleUrl);
        return assembly === undefined ? [] : [{ thread: s.thread, assembly, fn: s.fn, args: s.args }];
      });
      if (threads.length === 0 || !this.#conn.isOpen) return;
      this.#conn.send({ t: 'spawn', vc: this.id, count, threads });
    };
    this.#sending = this.#sending.then(send).catch((err: unknown) => {
      for (const s of batch) this.#threads.get(s.thread)?._reject(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Makes sure the controller holds the assembly of `moduleUrl`: bundled once, offered by hash, sent only if missing. */
  #ensureAssembly(moduleUrl: string): Promise<string> {
    let ready = this.#assemblies.get(moduleUrl);
    if (ready === undefined) {
      ready = (async () => {
        const { hash, code } = await bundleAssembly(moduleUrl);
        const offer = await this.#conn.request({ t: 'assembly-offer', hash });
        if (!offer.have) await this.#conn.request({ t: 'assembly-put', hash, code }, 60_000);
        return hash;
      })();
      this.#assemblies.set(moduleUrl, ready);
      ready.catch(() => this.#assemblies.delete(moduleUrl));
    }
    return ready;
  }

  async #cancel(thread: number): Promise<void> {
    // A spawn still waiting for its batch must reach the controller before its cancel does.
    await this.#sending;
    if (!this.#conn.isOpen) return;
    await this.#conn.request({ t: 'cancel', vc: this.id, thread }).catch((err: unknown) => {
      throw errorFromRemote(err);
    });
    // The controller stopped it (or it had finished, and its outcome arrived before this reply).
    this.#threads.delete(thread);
  }

  #onMessage(msg: Message): void {
    switch (msg.t) {
      case 'thread-started':
        if (msg.vc === this.id) this.#threads.get(msg.thread)?._started(msg.host);
        break;
      case 'globals-changed':
        if (msg.vc === this.id) this.globals._changed(msg.name, msg.value);
        break;
      case 'thread-migrated':
        if (msg.vc === this.id) this.#threads.get(msg.thread)?._migrated({ from: msg.from, to: msg.to, reason: msg.reason, fromCheckpoint: msg.fromCheckpoint });
        break;
      case 'thread-progress':
        if (msg.vc === this.id) this.#threads.get(msg.thread)?._progress(msg.value);
        break;
      case 'thread-result':
        if (msg.vc === this.id) this.#settled(msg.thread)?._resolve(msg.value);
        break;
      case 'thread-error':
        if (msg.vc === this.id) this.#settled(msg.thread)?._reject(threadFailure(msg));
        break;
      default:
        break;
    }
  }

  /** The thread, forgotten by this handle's table: a finished thread needs no routing any more. */
  #settled(id: number): VirtualThread<unknown> | undefined {
    const t = this.#threads.get(id);
    this.#threads.delete(id);
    return t;
  }

  #failAll(err: Error): void {
    for (const t of this.#threads.values()) t._reject(err);
    this.#threads.clear();
  }
}

interface CheckedOptions {
  identity: Identity;
  workers: number;
  minWorkers: number;
  enrolTimeoutMs: number;
  controller: string | undefined;
  swarmKey: Uint8Array | undefined;
  slotsPerWorker: number;
  sandbox: VirtualComputerOptions['sandbox'];
  logLevel: VirtualComputerOptions['logLevel'];
  checkpoint: CheckpointOptions;
  mailboxSize: number | undefined;
  lockLeaseMs: number | undefined;
  maxErrors: number | undefined;
}

/** The error a thread's `result` rejects with: the thread's own (ThreadError), or a host's limit or its crashes. */
function threadFailure(msg: MessageOf<'thread-error'>): ThreadError {
  if (msg.code === ErrorCode.RESOURCE_LIMIT) return new ResourceLimitError(msg.limit ?? 'memory', msg.message, msg.thread, msg.peer, msg.stack);
  if (msg.code === ErrorCode.THREAD_CRASHED) return new ThreadCrashedError(msg.message, msg.reasons ?? [], msg.thread);
  return new ThreadError(msg.name, msg.message, msg.stack);
}

function checkSandbox(v: unknown): VirtualComputerOptions['sandbox'] {
  if (v === undefined || v === 'strict' || v === 'process' || v === 'off') return v;
  throw new TypeError(`options.sandbox must be 'strict', 'process' or 'off', got ${JSON.stringify(v)}`);
}

function checkOptions(o: VirtualComputerOptions): CheckedOptions {
  const int = (name: string, v: unknown, min: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new TypeError(`options.${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  if (typeof o !== 'object' || o === null) throw new TypeError('VirtualComputer.create needs options, e.g. { workers: 4 }');
  const workers = int('workers', o.workers, 1);
  const minWorkers = int('minWorkers', o.minWorkers ?? 1, 0);
  if (minWorkers > workers) throw new TypeError(`options.minWorkers (${minWorkers}) must not exceed options.workers (${workers})`);
  const enrolTimeoutMs = int('enrolTimeoutMs', o.enrolTimeoutMs ?? DEFAULT_ENROL_TIMEOUT_MS, 0);
  const slotsPerWorker = int('slotsPerWorker', o.slotsPerWorker ?? 1, 1);
  const ck = o.checkpoint ?? {};
  if (typeof ck !== 'object' || ck === null) throw new TypeError(`options.checkpoint must be an object like { intervalMs: 1000, replicas: 1 }, got ${JSON.stringify(ck)}`);
  const checkpoint: CheckpointOptions = {
    ...(ck.intervalMs !== undefined ? { intervalMs: int('checkpoint.intervalMs', ck.intervalMs, 1) } : {}),
    ...(ck.replicas !== undefined ? { replicas: int('checkpoint.replicas', ck.replicas, 1) } : {}),
  };
  if ((checkpoint.replicas ?? 1) > 16) throw new TypeError(`options.checkpoint.replicas must be at most 16, got ${checkpoint.replicas}`);
  let swarmKey: Uint8Array | undefined;
  if (o.swarmKey !== undefined) {
    swarmKey = typeof o.swarmKey === 'string' ? Buffer.from(o.swarmKey.trim(), 'base64') : o.swarmKey;
    if (swarmKey.length !== 32) {
      throw new TypeError(`options.swarmKey must be 32 bytes (or their base64, as \`ppp2p keygen\` prints), got ${swarmKey.length} bytes`);
    }
  }
  if (o.controller !== undefined) {
    if (typeof o.controller !== 'string' || !/^wss?:\/\//.test(o.controller)) {
      throw new TypeError(`options.controller must be a ws:// or wss:// URL, got ${JSON.stringify(o.controller)}`);
    }
    if (swarmKey === undefined) {
      throw new TypeError('options.swarmKey is required with options.controller: pass the key of that swarm (the file given to `ppp2p peer --swarm-key-file`)');
    }
  }
  const mailboxSize = o.mailboxSize === undefined ? undefined : int('mailboxSize', o.mailboxSize, 1);
  const lockLeaseMs = o.lockLeaseMs === undefined ? undefined : int('lockLeaseMs', o.lockLeaseMs, 10);
  const maxErrors = o.maxErrors === undefined ? undefined : int('maxErrors', o.maxErrors, 1);
  const identity = o.identity === undefined ? defaultIdentity() : identityFromPrivateKey(o.identity);
  return { identity, workers, minWorkers, enrolTimeoutMs, controller: o.controller, swarmKey, slotsPerWorker, sandbox: checkSandbox(o.sandbox), logLevel: o.logLevel, checkpoint, mailboxSize, lockLeaseMs, maxErrors };
}

/** Throws a TypeError naming the path when `value` is not plain data that survives the trip to a worker. */
function checkPlainData(value: unknown, where: string, depth = 0, path = ''): void {
  const fail = (what: string): never => {
    throw new TypeError(
      `Cannot spawn: ${where}${path} is ${what}, which cannot be sent to a virtual thread. ` +
        'Pass plain data: objects, arrays, strings, numbers, booleans, null, Uint8Array, Date.',
    );
  };
  if (value === null || value === undefined) return;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return;
    case 'function':
      return fail('a function');
    case 'symbol':
      return fail('a symbol');
    default:
      break;
  }
  if (depth > 64) return fail('nested more than 64 levels deep');
  if (value instanceof Uint8Array || value instanceof Date) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkPlainData(v, where, depth + 1, `${path}[${i}]`));
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name ?? 'an object';
    return fail(value instanceof Promise ? 'a Promise' : `an instance of ${ctor}`);
  }
  for (const [k, v] of Object.entries(value)) checkPlainData(v, where, depth + 1, `${path}.${k}`);
}
