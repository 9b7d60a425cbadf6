/**
 * Errors raised inside a virtual thread by the runtime, and the codes the host answers a thread's calls with.
 * Each says when it is thrown. The runtime imports nothing of ours, so the codes of {@link ThreadEffectError}
 * are registered here; those that also cross the wire (globals-op replies) are listed in src/protocol/errors.ts
 * as data, and a unit test keeps the two lists in step.
 */

/** Codes of {@link ThreadEffectError}: each says when the host (or the runtime) answers a thread's call with it. */
export const ThreadEffectCode = {
  /** A `globals.update` lock was lost: its lease expired before the update finished. */
  LEASE_EXPIRED: 'ERR_LEASE_EXPIRED',
  /** The thread was superseded by a newer placement of itself: its globals operations are refused. */
  STALE_EPOCH: 'ERR_STALE_EPOCH',
  /** A globals operation on a variable the thread's own `globals.update` holds locked. */
  LOCK_REENTRY: 'ERR_LOCK_REENTRY',
  /** The thread's virtual computer is closed. */
  VC_CLOSED: 'ERR_VC_CLOSED',
  /** The thread has ended: its host answers no more calls. */
  THREAD_ENDED: 'ERR_THREAD_ENDED',
  /** The thread's mailbox is closed (the thread left this peer). */
  MAILBOX_CLOSED: 'ERR_MAILBOX_CLOSED',
  /** A `thread.receive({ timeoutMs })` found no message in time (the thread rethrows it as ReceiveTimeoutError). */
  RECEIVE_TIMEOUT: 'ERR_RECEIVE_TIMEOUT',
  /** A messaging or globals SDK call was made before the thread started. */
  NOT_ATTACHED: 'ERR_NOT_ATTACHED',
  /** A globals operation failed at the owner for a reason that has no code of this list (the message says which). */
  GLOBALS: 'ERR_GLOBALS',
  /** The host failed a call with an error that has no code of this list. */
  HOST: 'ERR_HOST',
} as const;
export type ThreadEffectCode = (typeof ThreadEffectCode)[keyof typeof ThreadEffectCode];

const threadEffectCodes: ReadonlySet<string> = new Set(Object.values(ThreadEffectCode));

/** Whether `code` (e.g. carried across the worker boundary or the wire) is a code of {@link ThreadEffectCode}. */
export function isThreadEffectCode(code: unknown): code is ThreadEffectCode {
  return typeof code === 'string' && threadEffectCodes.has(code);
}

/** A checkpoint could not be taken, or a snapshot could not be restored into this code. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** A value reachable from a frame cannot be serialized; `path` leads from the snapshot root to it. */
export class UnserializableValueError extends Error {
  override name = 'UnserializableValueError';
  constructor(
    /** What the value is, in words: "a function", "a pending Promise", "a Socket". */
    readonly what: string,
    readonly path: readonly (string | number)[],
  ) {
    const where = path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
    super(`${what}${where === '' ? '' : ` at ${where}`} cannot be serialized`);
  }
}

/** Bytes that are not a snapshot of a format this version reads. */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

/** A snapshot names a frame or class whose code differs from (or is missing in) the loaded build. */
export class SnapshotLayoutError extends Error {
  override name = 'SnapshotLayoutError';
}

/** An SDK call that needs a virtual thread (or a host feature) was made where there is none. */
export class NotInThreadError extends Error {
  override name = 'NotInThreadError';
}

/** `thread.receive({ timeoutMs })` found no message within the timeout. */
export class ReceiveTimeoutError extends Error {
  override name = 'ReceiveTimeoutError';
  readonly code = ThreadEffectCode.RECEIVE_TIMEOUT;
  constructor(
    /** The thread that waited. */
    readonly thread: number,
    /** The sender it waited for; undefined when it waited for any sender. */
    readonly from: number | undefined,
    readonly timeoutMs: number,
  ) {
    super(
      `Thread ${thread}: receive(${from === undefined ? '' : `{ from: ${from} }`}) got no message ${from === undefined ? 'from any thread' : `from thread ${from}`} ` +
        `within ${timeoutMs} ms.`,
    );
  }
}

/**
 * A message-passing or globals operation failed in the thread's host: the lock of a `globals.update` was lost
 * because its lease expired (code ERR_LEASE_EXPIRED), the thread was superseded by a newer placement of itself
 * (ERR_STALE_EPOCH), or its virtual computer is closing. `code` is one of {@link ThreadEffectCode}.
 */
export class ThreadEffectError extends Error {
  override name = 'ThreadEffectError';
  constructor(
    readonly code: ThreadEffectCode,
    message: string,
  ) {
    super(message);
  }
}

/** An error thrown by thread code, carried across the worker boundary with its mapped stack. */
export class ThreadError extends Error {
  override name = 'ThreadError';
  constructor(
    readonly remoteName: string,
    message: string,
    readonly remoteStack: string,
  ) {
    super(message);
    this.stack = remoteStack || `${remoteName}: ${message}`;
  }
}

/** The limits a peer sets on the threads it runs for others (`ppp2p peer --max-thread-cpu` and its kin). */
export type ResourceLimit = 'heap' | 'memory' | 'cpu' | 'wall';

/**
 * A thread was stopped by a limit of the peer that ran it: its heap, its executor's memory, its CPU seconds, its
 * wall time. Not retried (the same code would meet the same limit); `limit` names which, `peer` where.
 */
export class ResourceLimitError extends ThreadError {
  override name = 'ResourceLimitError';
  constructor(
    readonly limit: ResourceLimit,
    message: string,
    readonly thread?: number,
    readonly peer?: string,
    stack = '',
  ) {
    super('ResourceLimitError', message, stack);
  }
}

/**
 * A thread took its executor down (killed or crashed it) as many times as its virtual computer allows
 * (`maxErrors`, BOINC's max_error_results): it is not retried again. `reasons` lists each crash, oldest first.
 */
export class ThreadCrashedError extends ThreadError {
  override name = 'ThreadCrashedError';
  constructor(
    message: string,
    readonly reasons: readonly string[],
    readonly thread?: number,
  ) {
    super('ThreadCrashedError', message, '');
  }
}
