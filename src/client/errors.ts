/**
 * Errors the application sees from the client API. Each says in one line when it is thrown. Errors that come from
 * the controller are the protocol's classes (src/protocol/errors.ts), turned from a RemoteError into their class by
 * `errorFromRemote` (e.g. EnrolmentError); errors of thread code arrive as the runtime's ThreadError.
 */

/** A method was called on a virtual computer that is closed (or whose controller connection was lost). */
export class VirtualComputerClosedError extends Error {
  override name = 'VirtualComputerClosedError';
}

/** `result` of a cancelled thread rejects with this. */
export class ThreadCancelledError extends Error {
  override name = 'ThreadCancelledError';
}

/** `result` rejects with this when the thread could not run at all (its code could not be shipped, its virtual computer closed). */
export class ThreadLostError extends Error {
  override name = 'ThreadLostError';
}
