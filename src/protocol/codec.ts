/**
 * Frames: one WebSocket binary message holds one msgpack-encoded {@link Message}. Decoding never trusts the
 * bytes: size first, then msgpack, then the validator table. Every failure is a ProtocolError with a stable code.
 */
import { C1, Packr } from 'msgpackr';
import { ProtocolError } from './errors.ts';
import { validateMessage, type Message } from './messages.ts';
import { claimHeadRoom } from './msg-batch.ts';

/**
 * The protocol version both sides of a handshake must speak. Raise it on any incompatible wire change.
 * 3: `exec-error` carries a `code` (ERR_NOT_ENROLLED, ERR_CHECKPOINT_UNAVAILABLE) that the deployer acts on,
 * where version 2 matched the error's name.
 * 4: the handshake carries Ed25519 identity keys (the peer id is derived from the key, signed transcript) and
 * X25519 ephemeral keys; every frame after it is AES-256-GCM sealed (secure-channel.ts).
 * 5: `exec-error` and `thread-error` carry the resource limit that stopped a thread (ERR_RESOURCE_LIMIT) and
 * executor crashes (ERR_EXECUTOR_CRASHED, ERR_THREAD_CRASHED with its reasons); gossip carries the sandbox mode.
 */
export const PROTOCOL_VERSION = 5;
/** Default maximum frame size: 64 MiB (the WebSocket maxPayload of daemons and clients). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Handshake frames are tiny; before authentication anything larger is refused. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;

// Plain maps, no shared record structures (each frame decodes on its own), no extension types on encode.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes a message as one frame. */
export function encodeFrame(msg: Message): Buffer {
  return msg.t === 'msg-deliver' ? encodeDeliver(msg) : packr.pack(msg);
}

/** `msgs` as a msgpack key: fixstr of 4. */
const MSGS_KEY = [0xa4, 0x6d, 0x73, 0x67, 0x73];
/** The key, then a bin32 header (0xc6 and a big-endian length). */
const MSGS_PREFIX = MSGS_KEY.length + 5;

/**
 * A msg-deliver frame: its other fields as a msgpack map, then `msgs` as one bin. The batch is not copied again
 * when msg-batch.ts left room in front of it: the map's head is written there and the frame is a view of that
 * buffer. Any decoder sees an ordinary map (the map header counts the `msgs` entry appended after the others).
 */
function encodeDeliver(msg: Extract<Message, { t: 'msg-deliver' }>): Buffer {
  const { msgs, ...rest } = msg;
  const head = packr.pack(rest);
  // The map's entry count goes up by one: msgpackr writes a map16 (0xde, then a big-endian count); a fixmap of
  // up to 14 entries would do as well.
  const n = head[0]!;
  const map16 = n === 0xde && head.readUInt16BE(1) < 0xffff;
  if (!map16 && !(n >= 0x80 && n < 0x8f)) return packr.pack(msg);
  const before = head.length + MSGS_PREFIX;
  let frame: Buffer;
  if (claimHeadRoom(msgs, before)) {
    frame = Buffer.from(msgs.buffer, msgs.byteOffset - before, before + msgs.byteLength);
  } else {
    frame = Buffer.allocUnsafe(before + msgs.byteLength);
    frame.set(msgs, before);
  }
  frame.set(head, 0);
  if (map16) frame.writeUInt16BE(head.readUInt16BE(1) + 1, 1);
  else frame[0] = n + 1;
  frame.set(MSGS_KEY, head.length);
  frame[head.length + MSGS_KEY.length] = 0xc6;
  frame.writeUInt32BE(msgs.byteLength, head.length + MSGS_KEY.length + 1);
  return frame;
}

/** Decodes one msgpack value without checking it is a message (tests and the handshake's version peek). */
export function decodeValue(bytes: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): unknown {
  if (bytes.length > maxFrameBytes) {
    throw new ProtocolError('ERR_FRAME_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the maximum of ${maxFrameBytes}`);
  }
  if (bytes.length === 0) throw new ProtocolError('ERR_FRAME_TRUNCATED', 'empty frame');
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (err) {
    if ((err as { incomplete?: unknown }).incomplete === true) {
      throw new ProtocolError('ERR_FRAME_TRUNCATED', `frame of ${bytes.length} bytes ends in the middle of a msgpack value`);
    }
    const why = err instanceof RangeError ? 'nested too deeply' : /end of buffer not reached/.test(String(err)) ? 'trailing bytes after the value' : 'not a msgpack value';
    throw new ProtocolError('ERR_FRAME_GARBAGE', `frame of ${bytes.length} bytes is ${why === 'not a msgpack value' ? why : `invalid: ${why}`}`);
  }
  // 0xc1 is the one byte msgpack never uses; msgpackr returns a marker for it instead of failing.
  if (value === C1) throw new ProtocolError('ERR_FRAME_GARBAGE', `frame of ${bytes.length} bytes is not a msgpack value (0xc1)`);
  return value;
}

/** Decodes and validates one frame. Throws ProtocolError (see errors.ts for the codes). */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Message {
  return validateMessage(decodeValue(bytes, maxFrameBytes));
}
