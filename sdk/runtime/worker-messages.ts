/** Messages between an executor slot (thread-worker.ts) and the process that drives it. */
import type { CheckpointPolicy, SnapshotInfo } from './thread-context.ts';

export interface StartThread {
  type: 'start';
  /** Absolute path of the built module that exports the entry function. */
  module: string;
  exportName: string;
  args: unknown[];
  threadId: number;
  threadCount: number;
  seed?: number;
  policy?: CheckpointPolicy;
  /** Resume from these snapshot bytes instead of starting from `args`. */
  snapshot?: Uint8Array;
}

export type ToWorker = StartThread | { type: 'continue'; number: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'snapshot'; bytes: Uint8Array; info: SnapshotInfo }
  | { type: 'progress'; value: unknown; seq: number }
  | { type: 'result'; value: unknown }
  | { type: 'error'; name: string; message: string; stack: string };
