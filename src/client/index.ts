/**
 * ppp2p: one virtual computer out of a swarm of ordinary ones.
 *
 * Thread code (built with `ppp2p build`):
 * ```ts
 * import { checkpoint, thread } from 'ppp2p';
 * export async function count(n: number): Promise<number> {
 *   let sum = 0;
 *   for (let i = 0; i < n; i++) { sum += i; await checkpoint(); }
 *   return sum;
 * }
 * ```
 *
 * Application (imports the *built* module, so that spawn can ship its code):
 * ```ts
 * import { VirtualComputer } from 'ppp2p';
 * import { count } from './built/count.js';
 * const vc = await VirtualComputer.create({ workers: 4 });   // an embedded local swarm
 * const t = vc.spawn(count, 1_000_000);
 * t.on('progress', (p) => console.log(p));
 * console.log(await t.result);
 * await vc.close();
 * ```
 * @packageDocumentation
 */
export { checkpoint, thread, globals } from '../runtime/thread-api.ts';
export {
  VirtualComputer,
  type VirtualComputerOptions,
  type CheckpointOptions,
  type EnrolledWorker,
} from './virtual-computer.ts';
export {
  VirtualThread,
  type VirtualThreadState,
  type VirtualThreadEvents,
  type MigrationEvent,
} from './virtual-thread.ts';
export { VirtualComputerClosedError, ThreadCancelledError, ThreadLostError } from './errors.ts';
export { EnrolmentError } from '../protocol/errors.ts';
export {
  ThreadError,
  CheckpointError,
  UnserializableValueError,
  SnapshotFormatError,
  SnapshotLayoutError,
  NotInThreadError,
  ReceiveTimeoutError,
  ThreadEffectError,
  ResourceLimitError,
  ThreadCrashedError,
  type ResourceLimit,
} from '../runtime/errors.ts';
export type { VirtualComputerGlobals, GlobalWatcher } from './virtual-computer-globals.ts';
