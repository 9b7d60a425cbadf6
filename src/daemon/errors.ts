/**
 * Errors of the daemon that stay inside it: they never cross the wire (those are in src/protocol/errors.ts) nor
 * the worker_threads boundary (src/runtime/errors.ts). Each says in one line when it is thrown.
 */

/** A thread was cancelled before it finished: its executor's `done` rejects with this (the worker then reports nothing). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}
