/**
 * Errors of the daemon that stay inside it: they never cross the wire (those are in src/protocol/errors.ts) nor
 * the worker_threads boundary (src/runtime/errors.ts). Each says in one line when it is thrown.
 */

/** A thread was cancelled before it finished: its executor's `done` rejects with this (the worker then reports nothing). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/**
 * A donor's usage policy (the `--config` file or the flags) that cannot be used as given: thrown at start-up, logged
 * and ignored on a reload. The message names `where` (the file or flag), the field (`hours[1]`), the bad value and the
 * fix; `field` is kept apart so the command line can name its own flag instead.
 */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    message: string,
    readonly where: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * An executor died under a thread (killed, crashed, its process or worker gone) rather than the thread throwing:
 * the thread's deployer may run it again from its last checkpoint, up to its `maxErrors`.
 */
export class ExecutorCrashError extends Error {
  override name = 'ExecutorCrashError';
}
