/** Messages between an executor slot (thread-worker.ts) and the process that drives it. */
import type { CheckpointPolicy, GlobalsOp, OutboxEntry, SnapshotInfo } from './thread-context.ts';

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
  /** Messages to one receiver this thread may have in flight (not yet in the receiver's mailbox) before `send` waits. @default 256 */
  mailboxSize?: number;
}

export type ToWorker = StartThread | { type: 'continue'; number: number } | ToWorkerMessaging;

export type FromWorker =
  | { type: 'ready' }
  | { type: 'snapshot'; bytes: Uint8Array; info: SnapshotInfo }
  | { type: 'progress'; value: unknown; seq: number }
  | { type: 'result'; value: unknown }
  | { type: 'error'; name: string; message: string; stack: string }
  | FromWorkerMessaging;

// ── message passing and globals (thread-messaging.ts on the thread's side; the peer's message manager on the host's) ──

/** Ids of calls are per thread run; the host answers every call with one `reply` of the same id. */
export type ThreadCall =
  /** The next messages for this thread (from one sender if `from` is set): at least one, at most `max`. */
  | { kind: 'receive'; from?: number; timeoutMs?: number; max: number }
  /** One globals operation, values encoded with the snapshot codec; exactly-once by (thread, seq) at the owner. */
  | { kind: 'globals'; seq: number; op: GlobalsOp['op']; name: string; value?: Uint8Array; expected?: Uint8Array; write?: boolean };

/** What a thread tells its host without waiting for an answer. */
export type ThreadNotice =
  /** Deliver these messages, in order (sends are coalesced until the thread yields or calls the host otherwise). */
  | { kind: 'send'; entries: OutboxEntry[] }
  /** Deliver these outbox entries again (after a resume, or when asked by `outbox-resend`); duplicates are dropped. */
  | { kind: 'resend'; entries: OutboxEntry[] }
  /** Posted before the thread code runs: where this thread's mailbox starts (its snapshot's consumed cursor). */
  | { kind: 'cursor'; consumed: Record<number, number> }
  /** Posted when the thread ends (before its result or error): its outbox, which the owner keeps from now on. */
  | { kind: 'residual'; entries: OutboxEntry[] };

/** What the host tells a running thread. */
export type HostNotice =
  /** Messages to `to` numbered up to `upTo` were handed to that thread (or dropped, if it ended): the sender's window opens again. */
  | { kind: 'acked'; to: number; upTo: number }
  /** The receiver checkpointed past `upTo` (or finished): outbox entries to it up to there are no longer needed. */
  | { kind: 'outbox-trim'; to: number; upTo: number }
  /** Post the outbox entries to `to` numbered above `after` as a `resend` (the receiver resumed and misses them). */
  | { kind: 'outbox-resend'; to: number; after: number };

/** The host's answer to a ThreadCall. */
export type CallReply =
  | { type: 'reply'; id: number; ok: true; value?: unknown }
  | { type: 'reply'; id: number; ok: false; name: string; message: string; code?: string };

/** A message delivered to a thread by its host (the answer to a `receive` call holds one or more). */
export interface Delivered {
  from: number;
  seq: number;
  bytes: Uint8Array;
}

export type ToWorkerMessaging =
  | CallReply
  /** The answer to a `receive` call: its Delivered[] packed with {@link packDelivered}, the buffer moved. */
  | { type: 'delivered'; id: number; batch: Uint8Array }
  | { type: 'host'; notice: HostNotice };
export type FromWorkerMessaging =
  /** `sends`: the thread's coalesced sends, packed with {@link packEntries} (copied: a thread never detaches a buffer), handled before the call. */
  | { type: 'call'; id: number; call: ThreadCall; sends?: Uint8Array }
  | { type: 'notice'; notice: Exclude<ThreadNotice, { entries: OutboxEntry[] }> }
  /** A send, resend or residual notice as it crosses the port: its entries packed with {@link packEntries}, the buffer copied (a thread never detaches a buffer). */
  | { type: 'entries'; kind: Extract<ThreadNotice, { entries: OutboxEntry[] }>['kind']; batch: Uint8Array };

// ── batches: messages cross the port between a thread and its host as one buffer (moved to the thread, copied from it)
// instead of one structured clone per message. Layout: a Float64Array of `count` then `fields` numbers per
// item, then the items' bytes back to back. The receiving side's items are views into that one buffer.

/** Outbox entries as one transferable buffer (`to, seq, prev`, then the bytes of each). */
export function packEntries(entries: readonly OutboxEntry[]): Uint8Array {
  return pack(entries, 3, (e, meta, at) => {
    meta[at] = e.to;
    meta[at + 1] = e.seq;
    meta[at + 2] = e.prev;
  });
}

export function unpackEntries(batch: Uint8Array): OutboxEntry[] {
  return unpack(batch, 3, (meta, at, bytes) => ({ to: meta[at]!, seq: meta[at + 1]!, prev: meta[at + 2]!, bytes }));
}

/** Delivered messages as one transferable buffer (`from, seq`, then the bytes of each). */
export function packDelivered(msgs: readonly Delivered[]): Uint8Array {
  return pack(msgs, 2, (m, meta, at) => {
    meta[at] = m.from;
    meta[at + 1] = m.seq;
  });
}

export function unpackDelivered(batch: Uint8Array): Delivered[] {
  return unpack(batch, 2, (meta, at, bytes) => ({ from: meta[at]!, seq: meta[at + 1]!, bytes }));
}

function pack<T extends { bytes: Uint8Array }>(items: readonly T[], fields: number, put: (item: T, meta: Float64Array, at: number) => void): Uint8Array {
  const stride = fields + 1;
  const head = 8 * (1 + stride * items.length);
  let size = head;
  for (const item of items) size += item.bytes.byteLength;
  const out = new Uint8Array(size);
  const meta = new Float64Array(out.buffer, 0, 1 + stride * items.length);
  meta[0] = items.length;
  let offset = head;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const at = 1 + stride * i;
    put(item, meta, at);
    meta[at + fields] = item.bytes.byteLength;
    out.set(item.bytes, offset);
    offset += item.bytes.byteLength;
  }
  return out;
}

function unpack<T>(batch: Uint8Array, fields: number, make: (meta: Float64Array, at: number, bytes: Uint8Array) => T): T[] {
  // A batch that crossed a process boundary (a sandboxed executor's IPC pipe) may sit at any offset of its buffer;
  // the Float64Array head needs 8-byte alignment, so such a batch is copied once.
  if (batch.byteOffset % 8 !== 0) batch = batch.slice();
  const stride = fields + 1;
  const count = new Float64Array(batch.buffer, batch.byteOffset, 1)[0]!;
  const meta = new Float64Array(batch.buffer, batch.byteOffset, 1 + stride * count);
  const out = new Array<T>(count);
  let offset = 8 * (1 + stride * count);
  for (let i = 0; i < count; i++) {
    const at = 1 + stride * i;
    const length = meta[at + fields]!;
    out[i] = make(meta, at, batch.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}
