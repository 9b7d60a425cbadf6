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
 * @packageDocumentation
 */
export { checkpoint, thread, globals } from './thread-api.ts';
export {
  CheckpointError,
  UnserializableValueError,
  SnapshotFormatError,
  SnapshotLayoutError,
  NotInThreadError,
} from './runtime/errors.ts';
