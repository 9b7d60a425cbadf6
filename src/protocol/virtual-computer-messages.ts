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
 * checkpoints and recovery (checkpoint-*.ts, recovery.ts; docs/effects-and-recovery.md):
 *   deployer → worker                       exec-holders, exec-fence
 *   worker → deployer                       exec-checkpoint, exec-handback, worker-leaving
 *   executor → holder, holder → holder      checkpoint-put
 *   resuming worker → holder                checkpoint-fetch
 *   deployer → holder                       checkpoint-grant, checkpoint-replicate, checkpoint-drop, checkpoint-release
 *   controller → application                thread-migrated
 * messaging (message-manager.ts):
 *   application → its controller            globals-get, globals-set, globals-watch
 *   controller → application                globals-changed
 *   deployer → workers                      thread-placed, msg-trim
 *   worker → deployer                       thread-locate, globals-op, msg-residual
 *   sender's host ⇄ receiver's host          msg-deliver → msg-ack | msg-nack, msg-credit (directly, or
 *                                           forwarded by the owner when the two have no direct path)
 * ```
 *
 * Messages between threads and global variables travel as snapshot-codec bytes (`msgValue`).
 *
 * Thread values (arguments, progress, results) travel as msgpack values: plain data (objects, arrays,
 * strings, numbers, booleans, null, Uint8Array). `epoch` numbers a thread's placements: a result from an
 * older placement than the current one is ignored (room for fencing after failover).
 */
import { f, type MessageSchemas, type MessagesOf } from './schema.ts';
import { MAX_MSG_VALUE_BYTES, msgBatchField } from './msg-batch.ts';

/** A virtual computer's id, chosen by its deployer. */
const vc = f.string({ max: 64 });
/** An assembly's name: the SHA-256 of its bytes in hex (checked again where it is used). */
const assembly = f.string({ max: 64 });
/** An exported function's name in its module. */
const fn = f.string({ max: 256 });
/** A value produced by thread code; absent when it is `undefined`. */
const value = f.optional(f.unknown);
/** Largest assembly on the wire. Keep in step with MAX_ASSEMBLY_BYTES (protocol/assembly.ts). */
const code = f.bytes({ max: 32 * 1024 * 1024 });
/** An error thrown by thread code, its stack mapped to the user's sources. */
const thrown = { name: f.string({ max: 256 }), message: f.string({ max: 65_536 }), stack: f.string({ max: 65_536 }) };
/** Which limit of its host stopped a thread (runtime/errors.ts ResourceLimit). */
const resourceLimit = f.optional(f.literal('heap', 'memory', 'cpu', 'wall'));
/** A message or global variable's value, encoded with the snapshot codec (src/runtime/snapshot-codec.ts). */
const msgValue = f.bytes({ max: MAX_MSG_VALUE_BYTES });
/** A global variable's name. */
const globalName = f.string({ max: 1024 });
const threadState = f.literal('queued', 'running', 'done', 'failed', 'cancelled');
/**
 * A placement's task token: 16 random bytes the owner issues in `exec` (one per placement, like Temporal's task
 * tokens). The host echoes it in every report about the placement; the owner compares it in constant time with
 * the one it issued, besides the sender's authenticated id and the epoch.
 */
const token = f.bytes({ length: 16 });
/**
 * Bounds of counters from the wire. Each stays far below 2^53, so `+ 1` and comparisons stay exact:
 * epochs (placements of one thread), sequence numbers (effects of one thread), thread ids and snapshot numbers.
 */
const epoch = f.uintMax(2 ** 40);
const seq = f.uintMax(2 ** 48);
const threadId = f.uintMax(2 ** 40);

// ── checkpoints and recovery (docs/effects-and-recovery.md) ──────────────────────────────────────
/** Most holders of one checkpoint (the replication factor is far smaller). */
const holders = f.array(f.peerId, { max: 16 });
/** Snapshot bytes on the wire. Keep at or below the peers' maximum frame size. */
const snapshot = f.bytes({ max: 64 * 1024 * 1024 });
/** A checkpoint version: the placement (epoch) that took it and its snapshot number. Ordered by (epoch, n). */
const version = { epoch, n: f.uintMax(2 ** 48) };
/** The newest acknowledged checkpoint of a thread, as `ppp2p status` shows it. */
const checkpointStatus = {
  ...version,
  /** ThreadState.seq at the snapshot: effects numbered below it are covered. */
  seq,
  bytes: f.uint,
  holders,
  ageMs: f.uint,
  /** Time from the executor's send to the holders' acknowledgement. */
  transferMs: f.number,
  /** Time the thread spent encoding the snapshot (the only part of a checkpoint it waits for). */
  encodeMs: f.number,
};
const migrationStatus = { from: f.peerId, to: f.peerId, reason: f.string({ max: 256 }), at: f.number, fromCheckpoint: f.boolean };

const threadSpec = {
  thread: threadId,
  assembly,
  fn,
  args: f.array(f.unknown, { max: 65_536 }),
};

const enrolledWorker = { id: f.peerId, slots: f.uint, speed: f.number };

const threadStatus = {
  thread: threadId,
  fn,
  state: f.literal('queued', 'running', 'done', 'failed', 'cancelled'),
  host: f.optional(f.peerId),
  progress: f.uint,
  /** How many times the thread was placed (more than one after a worker died). */
  placements: f.uint,
  /** Newest acknowledged checkpoint (absent: none yet). */
  checkpoint: f.optional(f.object(checkpointStatus)),
  /** 'unprotected': running with no peer other than its host to hold its checkpoints. */
  protection: f.optional(f.literal('protected', 'unprotected', 'none')),
  /** The most recent moves of the thread between peers. */
  migrations: f.optional(f.array(f.object(migrationStatus), { max: 64 })),
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

const executingStatus = { vc, owner: f.peerId, thread: threadId, fn, since: f.number };


export const virtualComputerMessages = {
  // ── application → its controller ───────────────────────────────────────────────────────────
  /** Create a virtual computer: enrol `workers` workers, waiting up to `enrolTimeoutMs` for them. */
  'vc-create': {
    id: f.uint,
    workers: f.uintMax(100_000),
    minWorkers: f.uintMax(100_000),
    enrolTimeoutMs: f.uint,
    /** Checkpoint policy: at most one snapshot per this many ms of run time. @default 1000 */
    checkpointIntervalMs: f.optional(f.uint),
    /** Holders of each checkpoint besides the executing peer. @default 1 */
    replicas: f.optional(f.uint),
    /** Messages a thread's mailbox holds, and a sender's unaccepted messages to one receiver. @default 256 */
    mailboxSize: f.optional(f.uintMax(1_000_000)),
    /** Lease of the lock a `globals.update` takes, renewed while its holder's peer lives. @default 5000 */
    lockLeaseMs: f.optional(f.uint),
    /** Executor crashes a thread may cause before it fails with ThreadCrashedError (BOINC's max_error_results). @default 3 */
    maxErrors: f.optional(f.uintMax(1000)),
  },
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
  spawn: { vc, count: threadId, threads: f.array(f.object(threadSpec), { max: 100_000 }) },
  cancel: { id: f.uint, vc, thread: threadId },
  /** `cancelled` is false when the thread had already finished. */
  'cancel-reply': { re: f.uint, cancelled: f.boolean },

  // ── controller → application ───────────────────────────────────────────────────────────────
  /** The thread was placed on `host` (again, when it restarts after its worker died). */
  'thread-started': { vc, thread: threadId, host: f.peerId },
  'thread-progress': { vc, thread: threadId, seq, value },
  'thread-result': { vc, thread: threadId, value },
  'thread-error': {
    vc,
    thread: threadId,
    ...thrown,
    /** ERR_RESOURCE_LIMIT or ERR_THREAD_CRASHED when it is not the thread's own error. */
    code: f.optional(f.string({ max: 128 })),
    limit: resourceLimit,
    /** The peer whose limit stopped the thread. */
    peer: f.optional(f.peerId),
    /** ERR_THREAD_CRASHED: each crash, oldest first. */
    reasons: f.optional(f.array(f.string({ max: 4096 }), { max: 64 })),
  },

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
  exec: {
    vc,
    epoch,
    count: threadId,
    ...threadSpec,
    /** Peers that hold this placement's checkpoints (empty or absent: none, the thread runs unprotected). */
    holders: f.optional(holders),
    /** Resume from this acknowledged checkpoint, held by `holders` (fetch it unless this peer is one). */
    resume: f.optional(f.object({ ...version, holders })),
    /** Checkpoint policy: at most one snapshot per this many ms of run time. */
    checkpointIntervalMs: f.optional(f.uint),
    /** The virtual computer's mailbox size (see vc-create). @default 256 */
    mailboxSize: f.optional(f.uintMax(1_000_000)),
    /** This placement's task token: the host echoes it in every report about the placement. */
    token,
  },
  /** `token`: the placement's task token (only the owner, which issued it, knows it). */
  'exec-cancel': { id: f.uint, vc, thread: threadId, token },
  'exec-cancel-reply': { re: f.uint, found: f.boolean },

  // ── worker → deployer ──────────────────────────────────────────────────────────────────────
  'exec-progress': { vc, thread: threadId, epoch, seq, value, token },
  /** `others`: slots of this worker busy with other virtual computers' threads, for the delegator. */
  'exec-result': { vc, thread: threadId, epoch, value, others: f.uintMax(1_000_000), token },
  /** `code` (protocol/errors.ts) marks a failure that is not the thread's own: ERR_NOT_ENROLLED, ERR_CHECKPOINT_UNAVAILABLE. */
  'exec-error': { vc, thread: threadId, epoch, ...thrown, code: f.optional(f.string({ max: 128 })), limit: resourceLimit, others: f.uintMax(1_000_000), token },
  /** A worker fetches an assembly it lacks from the deployer's controller, on first use. */
  'assembly-fetch': { id: f.uint, hash: assembly },
  'assembly-fetch-reply': { re: f.uint, code },

  // ── anyone → a controller ──────────────────────────────────────────────────────────────────
  /** Virtual computers deployed here, threads executing here, slots and assembly counters (`ppp2p status`). */
  /**
   * A client sees only its own virtual computers (and the threads executing here for them), a peer only the threads
   * executing here for its own; with `admin`, the local admin credential (the daemon's `<dataDir>/admin.token`),
   * everything.
   */
  'vc-status': { id: f.uint, admin: f.optional(f.string({ max: 256 })) },
  'vc-status-reply': {
    re: f.uint,
    self: f.peerId,
    slots: f.uint,
    free: f.uint,
    vcs: f.array(f.object(vcStatus), { max: 10_000 }),
    executing: f.array(f.object(executingStatus), { max: 1_000_000 }),
    assemblies: f.object({ held: f.uint, uploaded: f.uint, fetched: f.uint, served: f.uint }),
    /** Dormant checkpoint copies this peer holds for others (its checkpoint store). */
    held: f.optional(f.object({ threads: f.uint, versions: f.uint, bytes: f.uint, receiving: f.uint })),
    /** How this peer isolates the threads it runs (daemon/host/sandbox.ts): its mode, the layers in force, what is missing. */
    sandbox: f.optional(
      f.object({
        mode: f.literal('strict', 'process', 'off'),
        layers: f.array(f.string({ max: 512 }), { max: 32 }),
        missing: f.array(f.string({ max: 512 }), { max: 32 }),
      }),
    ),
    /** Why this peer accepts no work now (its usage policy: outside its hours, machine in use). */
    paused: f.optional(f.string({ max: 1024 })),
  },

  // ── checkpoints and recovery (docs/effects-and-recovery.md) ──────────────────────────────────
  /** Deployer → worker: new holders for the placement's next checkpoints; `snapshot`: take one at the next opportunity. */
  'exec-holders': { vc, thread: threadId, epoch, holders, snapshot: f.boolean, token },
  /**
   * Deployer → worker: which placements of `vc` do you run? The owner's side of a placement lease: after the owner
   * was cut off (declared dead, frozen, partitioned) it learns which of its threads vanished and resumes them.
   */
  'exec-list': { id: f.uint, vc },
  'exec-list-reply': { re: f.uint, placements: f.array(f.object({ thread: threadId, epoch }), { max: 100_000 }) },
  /** Deployer → worker: stop any placement of `thread` older than `epoch` (a stale copy, fenced off). */
  'exec-fence': { vc, thread: threadId, epoch },
  /** Worker → deployer: holders acknowledged this checkpoint of the placement; it counts from now on. */
  'exec-checkpoint': {
    vc,
    thread: threadId,
    ...version,
    seq,
    bytes: f.uint,
    holders,
    site: f.string({ max: 1024 }),
    encodeMs: f.number,
    transferMs: f.number,
    /** The thread's consumed cursor at the snapshot (SnapshotInfo.consumed): senders trim their outboxes to it. */
    consumed: f.optional(f.record(f.int, { max: 1_000_000 })),
    token,
  },
  /** Worker → deployer: this peer gives the placement back (it leaves); resume it from its newest checkpoint elsewhere. */
  'exec-handback': { vc, thread: threadId, epoch, reason: f.string({ max: 256 }), token },
  /** Worker → deployer: this peer is leaving; place nothing more on it. */
  'worker-leaving': { vc },
  /** Executor (or a holder replicating) → holder: keep this dormant copy. */
  'checkpoint-put': { id: f.uint, vc, owner: f.peerId, thread: threadId, ...version, snapshot },
  'checkpoint-put-reply': { re: f.uint },
  /** A peer resuming a thread fetches its checkpoint from a holder. */
  'checkpoint-fetch': { id: f.uint, vc, thread: threadId, ...version },
  'checkpoint-fetch-reply': { re: f.uint, snapshot },
  /** Deployer → holder: copy a checkpoint you hold to `to` (a new holder), reply once `to` acknowledged it. */
  'checkpoint-replicate': { id: f.uint, vc, thread: threadId, ...version, to: f.peerId },
  'checkpoint-replicate-reply': { re: f.uint },
  /** Deployer → holder: drop the thread's versions older than `below` (all of them when absent). */
  'checkpoint-drop': { vc, thread: threadId, below: f.optional(f.object(version)) },
  /**
   * Deployer → holder: `host` may send this holder copies of `thread` of versions up to placement `epoch`
   * (`checkpoint-put`) and fetch the copies held of it (`checkpoint-fetch`). A holder keeps copies only for
   * placements its owner announced this way; the first grant for a virtual computer makes its sender the owner.
   */
  'checkpoint-grant': { vc, thread: threadId, epoch, host: f.peerId },
  /** Deployer → holder: the virtual computer ended; drop everything held for it. */
  'checkpoint-release': { vc },
  /** Controller → application: the thread moved to another peer (`to`), resuming from a checkpoint or restarting. */
  'thread-migrated': { vc, thread: threadId, from: f.peerId, to: f.peerId, reason: f.string({ max: 256 }), fromCheckpoint: f.boolean },

  // ── message passing between threads (message-manager.ts, peer-unit-proxy.ts, address-resolver.ts) ──
  // Sender's host → receiver's host, directly, or through the owner (which forwards anything whose `dest` is
  // another peer) when there is no direct path. No replies: the receiver answers with msg-ack or msg-nack.
  /**
   * Messages from thread `from` to thread `to`, in seq order (a sender's host batches what one turn of its event
   * loop produced). Each message's `prev` is the seq of the previous message of the same pair (-1 for the first):
   * a mailbox accepts only the next message of this chain, so FIFO holds across re-sends. `epoch`: the receiver's
   * placement as the sender knows it. `round` counts the sender's rewinds; `origin` is the sender's host, where
   * acks go; `dest` the peer that should handle it.
   */
  'msg-deliver': {
    vc,
    from: threadId,
    to: threadId,
    epoch,
    round: seq,
    origin: f.peerId,
    dest: f.peerId,
    /** The messages, in one binary batch (msg-batch.ts): a u32 count, `{ f64 seq, f64 prev, u32 length }` each, then the values. */
    msgs: msgBatchField,
  },
  /**
   * Receiver's host → sender's host, for the mailbox of placement `epoch`: messages of the pair numbered up to
   * `upTo` are in the mailbox, and up to `consumed` were handed to the receiving thread (cumulative both).
   */
  'msg-ack': { vc, from: threadId, to: threadId, epoch, upTo: f.int, consumed: f.int, dest: f.peerId },
  /**
   * Receiver's host → sender's host: message `seq` (of sender round `round`) was not accepted, nor anything after
   * it in that round. 'full': the mailbox is full, wait for msg-credit; 'gap': messages after `expect` are
   * missing; 'not-here': the receiver does not run here at that epoch. `expect` is the last seq of the pair the
   * mailbox holds (-1: none).
   */
  'msg-nack': { vc, from: threadId, to: threadId, epoch, seq, round: seq, reason: f.literal('full', 'gap', 'not-here'), expect: f.int, dest: f.peerId },
  /** Receiver's host → a sender's host refused with 'full': the mailbox has room again. */
  'msg-credit': { vc, from: threadId, to: threadId, dest: f.peerId },
  /**
   * Sender's host → owner: a finished thread's outbox (in parts of at most ~16 MB). The owner delivers what the
   * receivers had not acknowledged (`acked[to]`: the last seq acknowledged to the sender's host), and the rest
   * again if a receiver resumes from before it.
   */
  'msg-residual': {
    vc,
    from: threadId,
    entries: f.array(f.object({ to: threadId, seq, prev: f.int, value: msgValue }), { max: 1_000_000 }),
    acked: f.record(f.int, { max: 1_000_000 }),
    /** The sender thread's last placement (its host sends this before the result): its epoch and task token. */
    epoch,
    token,
  },
  /** Deployer → workers: where a thread runs now ('running' with its host), or that it waits or ended. */
  'thread-placed': { vc, thread: threadId, epoch, state: threadState, host: f.optional(f.peerId) },
  /** Worker → deployer: where does `thread` run? (an address resolver's cache miss) */
  'thread-locate': { id: f.uint, vc, thread: threadId },
  'thread-locate-reply': { re: f.uint, epoch, state: threadState, host: f.optional(f.peerId) },
  /**
   * Deployer → workers: thread `thread` checkpointed; `cursor[sender]` is the highest seq from `sender` it had
   * received. Senders drop outbox entries to it up to there (docs/effects-and-recovery.md).
   */
  'msg-trim': { vc, thread: threadId, cursor: f.record(f.int, { max: 1_000_000 }) },

  // ── globals (global-variable-manager.ts, at the owner's deployer) ─────────────────────────────
  /** Worker → deployer: one globals operation of a thread; exactly-once by (thread, seq). */
  'globals-op': {
    id: f.uint,
    vc,
    thread: threadId,
    epoch,
    seq,
    op: f.literal('get', 'set', 'compareAndSet', 'lock', 'unlock'),
    name: globalName,
    value: f.optional(msgValue),
    expected: f.optional(msgValue),
    write: f.optional(f.boolean),
    token,
  },
  /** `value`: the variable's value for get and lock (absent: undefined); `ok`: whether a compareAndSet set. */
  'globals-op-reply': { re: f.uint, value: f.optional(msgValue), ok: f.optional(f.boolean) },
  /** Application → its controller: read a global variable. */
  'globals-get': { id: f.uint, vc, name: globalName },
  'globals-get-reply': { re: f.uint, value: f.optional(msgValue) },
  /** Application → its controller: write a global variable (waits while a thread's `update` holds it). */
  'globals-set': { id: f.uint, vc, name: globalName, value: f.optional(msgValue) },
  'globals-set-reply': { re: f.uint },
  /** Application → its controller: start (`on`) or stop sending globals-changed for `name`. */
  'globals-watch': { id: f.uint, vc, name: globalName, on: f.boolean },
  'globals-watch-reply': { re: f.uint },
  /** Controller → application: a watched variable changed (each change once, in order). */
  'globals-changed': { vc, name: globalName, value: f.optional(msgValue) },
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
  'globals-get',
  'globals-set',
  'globals-watch',
]);
