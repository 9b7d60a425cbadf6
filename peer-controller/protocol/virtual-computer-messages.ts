/**
 * Message types of the virtual-computer layer (deployer, enrolment, worker, executors, assemblies).
 * Merged into the one `Message` union and validator table by messages.ts; read the style guide at the top
 * of messages.ts. Requests carry `id: f.uint`, replies `re: f.uint`.
 *
 * Who sends what (enforced by the handlers in deployer.ts and worker.ts: a message from the wrong role
 * closes the connection with ERR_FORBIDDEN_FOR_ROLE):
 *
 * ```text
 * application (client) → its controller   vc-create, vc-close, assembly-offer, assembly-put, spawn, cancel, vc-status
 * controller → application                thread-started, thread-progress, thread-result, thread-error
 * deployer (peer) → worker (peer)          enrol, dismiss, exec, exec-cancel
 * worker → deployer                        exec-progress, exec-result, exec-error, assembly-fetch
 * ```
 *
 * Thread values (arguments, progress, results) travel as msgpack values: plain data (objects, arrays,
 * strings, numbers, booleans, null, Uint8Array). `epoch` numbers a thread's placements: a result from an
 * older placement than the current one is ignored (room for fencing after failover).
 */
import { f, type MessageSchemas, type MessagesOf } from './schema.ts';

/** A virtual computer's id, chosen by its deployer. */
const vc = f.string({ max: 64 });
/** An assembly's name: the SHA-256 of its bytes in hex (checked again where it is used). */
const assembly = f.string({ max: 64 });
/** An exported function's name in its module. */
const fn = f.string({ max: 256 });
/** A value produced by thread code; absent when it is `undefined`. */
const value = f.optional(f.unknown);
/** Largest assembly on the wire. Keep in step with MAX_ASSEMBLY_BYTES (assembly-manager.ts). */
const code = f.bytes({ max: 32 * 1024 * 1024 });
/** An error thrown by thread code, its stack mapped to the user's sources. */
const thrown = { name: f.string({ max: 256 }), message: f.string({ max: 65_536 }), stack: f.string({ max: 65_536 }) };

const threadSpec = {
  thread: f.uint,
  assembly,
  fn,
  args: f.array(f.unknown, { max: 65_536 }),
};

const enrolledWorker = { id: f.peerId, slots: f.uint, speed: f.number };

const threadStatus = {
  thread: f.uint,
  fn,
  state: f.literal('queued', 'running', 'done', 'failed', 'cancelled'),
  host: f.optional(f.peerId),
  progress: f.uint,
  /** How many times the thread was placed (more than one after a worker died). */
  placements: f.uint,
};

const vcStatus = {
  vc,
  /** The application (client id) that owns it. */
  owner: f.string({ max: 64 }),
  /** Requested number of workers. */
  quota: f.uint,
  workers: f.array(f.object({ id: f.peerId, slots: f.uint, speed: f.number, running: f.uint }), { max: 100_000 }),
  /** Unfinished threads, then the most recently finished ones. */
  threads: f.array(f.object(threadStatus), { max: 1_000_000 }),
  /** Threads finished so far, by outcome. */
  finished: f.object({ done: f.uint, failed: f.uint, cancelled: f.uint }),
  /** Threads waiting for a free slot. */
  queued: f.uint,
};

const executingStatus = { vc, owner: f.peerId, thread: f.uint, fn, since: f.number };

export const virtualComputerMessages = {
  // ── application → its controller ───────────────────────────────────────────────────────────
  /** Create a virtual computer: enrol `workers` workers, waiting up to `enrolTimeoutMs` for them. */
  'vc-create': { id: f.uint, workers: f.uint, minWorkers: f.uint, enrolTimeoutMs: f.uint },
  'vc-create-reply': { re: f.uint, vc, workers: f.array(f.object(enrolledWorker), { max: 100_000 }) },
  /** Stop every thread of the virtual computer and dismiss its workers. */
  'vc-close': { id: f.uint, vc },
  'vc-close-reply': { re: f.uint },
  /** Does the controller hold this assembly? If not, the application sends it with `assembly-put`. */
  'assembly-offer': { id: f.uint, hash: assembly },
  'assembly-offer-reply': { re: f.uint, have: f.boolean },
  'assembly-put': { id: f.uint, hash: assembly, code },
  'assembly-put-reply': { re: f.uint },
  /**
   * Spawn threads (batched: the spawns of one event-loop turn travel together). `count` is the number of
   * threads spawned on the virtual computer so far, these included: what each of them sees as `thread.count`.
   * No reply: each thread's outcome comes back as a thread-result or thread-error.
   */
  spawn: { vc, count: f.uint, threads: f.array(f.object(threadSpec), { max: 100_000 }) },
  cancel: { id: f.uint, vc, thread: f.uint },
  /** `cancelled` is false when the thread had already finished. */
  'cancel-reply': { re: f.uint, cancelled: f.boolean },

  // ── controller → application ───────────────────────────────────────────────────────────────
  /** The thread was placed on `host` (again, when it restarts after its worker died). */
  'thread-started': { vc, thread: f.uint, host: f.peerId },
  'thread-progress': { vc, thread: f.uint, seq: f.uint, value },
  'thread-result': { vc, thread: f.uint, value },
  'thread-error': { vc, thread: f.uint, ...thrown },

  // ── deployer → worker ──────────────────────────────────────────────────────────────────────
  /** Enrol in virtual computer `vc` of the deployer on peer `owner`; refused when no slot is free. */
  enrol: { id: f.uint, vc, owner: f.peerId },
  /** `others`: slots busy with threads of other virtual computers. */
  'enrol-reply': {
    re: f.uint,
    accepted: f.boolean,
    reason: f.optional(f.string({ max: 1024 })),
    slots: f.uint,
    free: f.uint,
    speed: f.number,
  },
  /** The worker leaves the virtual computer: its threads there are stopped. */
  dismiss: { vc },
  /** Run one thread. No reply: the outcome comes back as exec-result or exec-error. */
  exec: { vc, epoch: f.uint, count: f.uint, ...threadSpec },
  'exec-cancel': { id: f.uint, vc, thread: f.uint },
  'exec-cancel-reply': { re: f.uint, found: f.boolean },

  // ── worker → deployer ──────────────────────────────────────────────────────────────────────
  'exec-progress': { vc, thread: f.uint, epoch: f.uint, seq: f.uint, value },
  /** `others`: slots of this worker busy with other virtual computers' threads, for the delegator. */
  'exec-result': { vc, thread: f.uint, epoch: f.uint, value, others: f.uint },
  'exec-error': { vc, thread: f.uint, epoch: f.uint, ...thrown, others: f.uint },
  /** A worker fetches an assembly it lacks from the deployer's controller, on first use. */
  'assembly-fetch': { id: f.uint, hash: assembly },
  'assembly-fetch-reply': { re: f.uint, code },

  // ── anyone → a controller ──────────────────────────────────────────────────────────────────
  /** Virtual computers deployed here, threads executing here, slots and assembly counters (`ppp2p status`). */
  'vc-status': { id: f.uint },
  'vc-status-reply': {
    re: f.uint,
    self: f.peerId,
    slots: f.uint,
    free: f.uint,
    vcs: f.array(f.object(vcStatus), { max: 10_000 }),
    executing: f.array(f.object(executingStatus), { max: 1_000_000 }),
    assemblies: f.object({ held: f.uint, uploaded: f.uint, fetched: f.uint, served: f.uint }),
  },
} satisfies MessageSchemas;

/** The virtual-computer layer's messages. */
export type VirtualComputerMessage = MessagesOf<typeof virtualComputerMessages>;

/** Message types an application's client may send; everything else in this table comes from peers. */
export const clientSentTypes: ReadonlySet<string> = new Set([
  'vc-create',
  'vc-close',
  'assembly-offer',
  'assembly-put',
  'spawn',
  'cancel',
  'vc-status',
]);
