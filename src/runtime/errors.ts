/** Errors raised inside a virtual thread by the runtime. Each says when it is thrown. */

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
  readonly code = 'ERR_RECEIVE_TIMEOUT';
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
 * (ERR_STALE_EPOCH), or its virtual computer is closing.
 */
export class ThreadEffectError extends Error {
  override name = 'ThreadEffectError';
  constructor(
    readonly code: string,
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
