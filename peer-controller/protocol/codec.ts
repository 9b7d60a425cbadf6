/**
 * Frames: one WebSocket binary message holds one msgpack-encoded {@link Message}. Decoding never trusts the
 * bytes: size first, then msgpack, then the validator table. Every failure is a ProtocolError with a stable code.
 */
import { C1, Packr } from 'msgpackr';
import { ProtocolError } from '../errors.ts';
import { validateMessage, type Message } from './messages.ts';

/** The protocol version both sides of a handshake must speak. Raise it on any incompatible wire change. */
export const PROTOCOL_VERSION = 1;
/** Default maximum frame size: 64 MiB (the WebSocket maxPayload of daemons and clients). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Handshake frames are tiny; before authentication anything larger is refused. */
export const MAX_HANDSHAKE_FRAME_BYTES = 4096;

// Plain maps, no shared record structures (each frame decodes on its own), no extension types on encode.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes a message as one frame. */
export function encodeFrame(msg: Message): Buffer {
  return packr.pack(msg);
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
