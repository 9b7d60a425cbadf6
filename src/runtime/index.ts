/**
 * ppp2p/runtime: what code emitted by `ppp2p build` and the executors that run it import.
 * Applications use `ppp2p` instead; nothing here is needed to write thread code.
 *
 * ```js
 * import * as $rt from 'ppp2p/runtime';
 * const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(island$Frame);
 * ```
 * @packageDocumentation
 */
export { Frame, registerFrame, frameClassById, isFrameClass, type FrameClass } from './frame.ts';
export {
  ThreadContext,
  currentThread,
  detachThread,
  type CheckpointPolicy,
  type ThreadHost,
  type ThreadState,
  type Snapshot,
  type SnapshotInfo,
  type GlobalsOp,
  type OutboxEntry,
} from './thread-context.ts';
export { registerExport, lookupExport, type ExportLocation } from './exports-registry.ts';
export { encodeSnapshot, decodeSnapshot, registerClass, SNAPSHOT_FORMAT_VERSION, type RegisterClassOptions } from './snapshot-codec.ts';
export {
  CheckpointError,
  UnserializableValueError,
  SnapshotFormatError,
  SnapshotLayoutError,
  NotInThreadError,
  ReceiveTimeoutError,
  ThreadEffectError,
} from './errors.ts';
