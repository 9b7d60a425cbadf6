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
