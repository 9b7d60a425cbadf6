/**
 * The messages of one `msg-deliver` frame, as one opaque binary field (`msgs`) instead of a msgpack map per
 * message: the sender's host writes it in one pass from the thread's batch, the receiver's host checks it in
 * one pass and hands out views of the values. Layout, little-endian:
 *
 * ```text
 *   u32 count                                   at most MAX_BATCH_MESSAGES
 *   count × { f64 seq, f64 prev, u32 length }   20 bytes each: seq a non-negative integer, prev an integer
 *   the values, back to back, in that order     each at most MAX_MSG_VALUE_BYTES; nothing after the last
 * ```
 *
 * {@link msgBatchField} is the schema's checker: a malformed batch is refused as a whole with a FieldError that
 * names the message and the field (`msgs[37].seq: expected a non-negative integer, got the integer -4`), so the
 * connection closes with ERR_INVALID_FIELD as for any other bad field.
 *
 * {@link encodeMsgBatch} leaves room in front of the batch for the frame's other fields: codec.ts writes the
 * frame around the batch in place instead of copying the batch into a second buffer.
 */
import { FieldError } from './errors.ts';
import { describeValue, type Field } from './schema.ts';

/** Most messages in one batch. */
export const MAX_BATCH_MESSAGES = 65_536;
/** Largest value of one message (the snapshot codec's bytes of one sent value). */
export const MAX_MSG_VALUE_BYTES = 48 * 1024 * 1024;
/** Bytes of the count in front of a batch. */
const COUNT_BYTES = 4;
/** Bytes of each message's entry in the batch header. */
const ENTRY_BYTES = 20;
/** Room left in front of a batch for the rest of its frame (the fields of msg-deliver take at most ~400 bytes). */
export const FRAME_HEAD_ROOM = 512;

/** One message of a batch: its seq, its predecessor's seq in the pair's chain, and its value's bytes. */
export interface BatchItem {
  seq: number;
  prev: number;
  bytes: Uint8Array;
}

/** Batches written by encodeMsgBatch whose buffer has FRAME_HEAD_ROOM free bytes in front (used once, by codec.ts). */
const withHeadRoom = new WeakSet<Uint8Array>();

/**
 * Writes `items[from..to)` as one batch. The result is a view with FRAME_HEAD_ROOM free bytes in front of it in
 * its buffer, which the frame encoder may take (once) for the frame's other fields.
 */
export function encodeMsgBatch(items: readonly BatchItem[], from = 0, to = items.length): Uint8Array {
  const count = to - from;
  if (count < 0 || count > MAX_BATCH_MESSAGES) throw new RangeError(`a message batch holds 0 to ${MAX_BATCH_MESSAGES} messages, not ${count}`);
  const head = COUNT_BYTES + ENTRY_BYTES * count;
  let size = head;
  for (let i = from; i < to; i++) size += items[i]!.bytes.byteLength;
  const buffer = new ArrayBuffer(FRAME_HEAD_ROOM + size);
  const out = new Uint8Array(buffer, FRAME_HEAD_ROOM, size);
  const view = new DataView(buffer, FRAME_HEAD_ROOM, size);
  view.setUint32(0, count, true);
  let entry = COUNT_BYTES;
  let offset = head;
  for (let i = from; i < to; i++) {
    const item = items[i]!;
    const length = item.bytes.byteLength;
    view.setFloat64(entry, item.seq, true);
    view.setFloat64(entry + 8, item.prev, true);
    view.setUint32(entry + 16, length, true);
    entry += ENTRY_BYTES;
    out.set(item.bytes, offset);
    offset += length;
  }
  withHeadRoom.add(out);
  return out;
}

/** Whether the frame encoder may write `room` bytes in front of `batch` (once: the claim is consumed). */
export function claimHeadRoom(batch: Uint8Array, room: number): boolean {
  if (!withHeadRoom.has(batch) || batch.byteOffset < room) return false;
  withHeadRoom.delete(batch);
  return true;
}

/** Messages in a batch that {@link msgBatchField} accepted (or this process wrote). */
export function msgBatchCount(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getUint32(0, true);
}

/** The seq of a non-empty batch's first message. */
export function msgBatchFirstSeq(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getFloat64(COUNT_BYTES, true);
}

/**
 * Calls `visit` for each message of a batch that {@link msgBatchField} accepted (or this process wrote), in
 * order; `value` is a view into the batch.
 */
export function forEachMsg(batch: Uint8Array, visit: (seq: number, prev: number, value: Uint8Array) => void): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const count = view.getUint32(0, true);
  let entry = COUNT_BYTES;
  let offset = COUNT_BYTES + ENTRY_BYTES * count;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(entry + 16, true);
    visit(view.getFloat64(entry, true), view.getFloat64(entry + 8, true), batch.subarray(offset, offset + length));
    entry += ENTRY_BYTES;
    offset += length;
  }
}

/** The batch's messages as items (tests, and the rare paths that want them all). */
export function decodeMsgBatch(batch: Uint8Array): BatchItem[] {
  const out: BatchItem[] = [];
  forEachMsg(batch, (seq, prev, bytes) => out.push({ seq, prev, bytes }));
  return out;
}

const LAYOUT = `a message batch (a 4-byte count, ${ENTRY_BYTES} bytes of seq, prev and length per message, then the values)`;

/**
 * Checks a whole batch before anything of it is used: the layout, the count, every seq and prev, every length,
 * and that the values end exactly where the batch ends. Returns the batch itself (values stay views into it).
 */
export function checkMsgBatch(v: unknown, at: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new FieldError(at, LAYOUT, describeValue(v));
  if (v.byteLength < COUNT_BYTES) throw new FieldError(at, LAYOUT, `${v.byteLength} bytes, too few for its count`);
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const count = view.getUint32(0, true);
  if (count > MAX_BATCH_MESSAGES) throw new FieldError(at, `a message batch of at most ${MAX_BATCH_MESSAGES} messages`, `a batch of ${count}`);
  const head = COUNT_BYTES + ENTRY_BYTES * count;
  if (v.byteLength < head) {
    throw new FieldError(at, `${head} bytes of header for the ${count} messages the batch announces`, `${v.byteLength} bytes`);
  }
  let offset = head;
  let entry = COUNT_BYTES;
  for (let i = 0; i < count; i++, entry += ENTRY_BYTES) {
    const seq = view.getFloat64(entry, true);
    const prev = view.getFloat64(entry + 8, true);
    const length = view.getUint32(entry + 16, true);
    if (!(Number.isSafeInteger(seq) && seq >= 0)) throw new FieldError(`${at}[${i}].seq`, 'a non-negative integer', describeValue(seq));
    if (!Number.isSafeInteger(prev)) throw new FieldError(`${at}[${i}].prev`, 'an integer', describeValue(prev));
    if (length > MAX_MSG_VALUE_BYTES) throw new FieldError(`${at}[${i}].value`, `at most ${MAX_MSG_VALUE_BYTES} bytes`, `${length} bytes`);
    if (offset + length > v.byteLength) {
      throw new FieldError(`${at}[${i}].value`, `${length} bytes, as its header says`, `${v.byteLength - offset} bytes before the batch ends`);
    }
    offset += length;
  }
  if (offset !== v.byteLength) throw new FieldError(at, `a batch that ends with its last message's value`, `${v.byteLength - offset} bytes after it`);
  return v;
}

/** The schema field of `msg-deliver.msgs`. */
export const msgBatchField: Field<Uint8Array> & { readonly optional: false } = { optional: false, expected: LAYOUT, check: checkMsgBatch };
