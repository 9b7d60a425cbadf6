/**
 * Transport limits: what a connection may cost this process before and after it authenticates, and why.
 *
 * - Before authentication a socket may send only handshake frames, so the WebSocket layer's maximum payload is
 *   the handshake's ({@link PRE_AUTH_MAX_PAYLOAD}); `ws` checks it while parsing a frame's header, before
 *   buffering the payload. It is raised to the connection's maximum frame size at the moment the handshake
 *   succeeds ({@link raiseMaxPayload}). Without this, 8 unauthenticated 60 MiB frames took a daemon from 116 to
 *   802 MB of RSS.
 * - After authentication a connection whose unread output passes {@link DEFAULT_MAX_BUFFERED_BYTES} is a slow
 *   reader and is dropped with {@link SLOW_READER_CLOSE_CODE} (a client that never read took a daemon to 631 MB).
 * - One connection processes at most {@link DEFAULT_MESSAGES_PER_TURN} messages per event-loop turn, then its
 *   socket pauses until the next turn ({@link ReadBudget}): 300k tiny requests from one client delayed another
 *   client's echo 3.8 s and made peers declare each other dead.
 */
import type { WebSocket } from 'ws';
import { MAX_HANDSHAKE_FRAME_BYTES } from './codec.ts';

/** WebSocket payload limit until the handshake completes: the largest handshake frame. */
export const PRE_AUTH_MAX_PAYLOAD = MAX_HANDSHAKE_FRAME_BYTES;

/**
 * Unread bytes queued to one connection beyond which it is closed. Checked before each send, so one frame of the
 * maximum size always goes out; the worst case per connection is this plus one maximum frame.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** Close code for a connection dropped because it does not read what it is sent (4xxx: private use, 4429 ~ HTTP 429). */
export const SLOW_READER_CLOSE_CODE = 4429;

/**
 * Messages one connection may have processed in one event-loop turn before its socket is paused until the next
 * turn (setImmediate). At ~5 µs per small request this is ~1 ms of work, so timers (membership pings, timeouts)
 * and other sockets get their turn every few milliseconds whatever one connection sends.
 */
export const DEFAULT_MESSAGES_PER_TURN = 256;

interface ReceiverInternals {
  _receiver?: { _maxPayload?: unknown };
}

/**
 * Sets the maximum payload `ws` accepts on this socket from the next frame header on. `ws` has no public setter:
 * the limit is its Receiver's `_maxPayload`, read per frame in `haveLength()` (ws 8.x). Throws if that field is
 * missing so that a `ws` upgrade that renames it fails the tests (test/security/transport.test.ts) instead of
 * silently leaving the small pre-authentication limit in force.
 */
export function raiseMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as ReceiverInternals)._receiver;
  if (receiver === undefined || typeof receiver._maxPayload !== 'number') {
    throw new Error('ws internals changed: WebSocket._receiver._maxPayload not found (see src/protocol/limits.ts)');
  }
  receiver._maxPayload = bytes;
}

/** The maximum payload `ws` currently accepts on this socket (tests). */
export function maxPayloadOf(ws: WebSocket): number {
  return (ws as unknown as { _receiver: { _maxPayload: number } })._receiver._maxPayload;
}

/**
 * The read budget of one connection. `take()` is called per message and returns false once the budget of this
 * event-loop turn is spent: the caller pauses the socket, and `resume` is called on the next turn (setImmediate).
 * What one turn still handles after the pause is the rest of the socket's current read (64 KiB at most).
 * A token bucket (20,000 messages/s, bursts of 4,000) on top of it was tried and measured worse: the probe's
 * echo p90 went from ~60 to ~400 ms, the flooder's chunks then arriving in bigger backlogs.
 */
export class ReadBudget {
  readonly #perTurn: number;
  readonly #resume: () => void;
  #left: number;
  #turnScheduled = false;
  #paused = false;

  constructor(resume: () => void, perTurn = DEFAULT_MESSAGES_PER_TURN) {
    this.#resume = resume;
    this.#perTurn = perTurn;
    this.#left = perTurn;
  }

  /** Takes one message; false when the socket should pause now. */
  take(): boolean {
    if (!this.#turnScheduled) {
      this.#turnScheduled = true;
      setImmediate(() => {
        this.#turnScheduled = false;
        this.#left = this.#perTurn;
        if (!this.#paused) return;
        this.#paused = false;
        this.#resume();
      });
    }
    if (--this.#left > 0) return true;
    this.#paused = true;
    return false;
  }
}

/** One log line per `intervalMs` per key at most; the next line says how many were suppressed. */
export class RateLimitedLog {
  #last = new Map<string, { at: number; suppressed: number }>();
  readonly #intervalMs: number;
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void, intervalMs = 10_000) {
    this.#write = write;
    this.#intervalMs = intervalMs;
  }

  log(key: string, line: string): void {
    const now = Date.now();
    const e = this.#last.get(key);
    if (e !== undefined && now - e.at < this.#intervalMs) {
      e.suppressed++;
      return;
    }
    if (this.#last.size > 1000) this.#last.clear();
    this.#write(e !== undefined && e.suppressed > 0 ? `${line} (${e.suppressed} more like it in the last ${Math.round((now - e.at) / 1000)} s)` : line);
    this.#last.set(key, { at: now, suppressed: 0 });
  }
}

/**
 * Drops a socket whose handshake failed as soon as the close frame already queued on it (its code and reason tell
 * an honest client what went wrong) has left this process, and after `graceMs` at the latest: a refused client
 * must not hold the socket for ws's 30 s close handshake (failed handshakes held sockets ~35 s).
 */
export function terminateWhenFlushed(ws: WebSocket, graceMs = 1000): void {
  if (ws.readyState === ws.CLOSED) return;
  const socket = (ws as unknown as { _socket?: { writableLength: number; once(e: 'drain', f: () => void): void } | null })._socket;
  if (socket === undefined || socket === null || socket.writableLength === 0) {
    ws.terminate();
    return;
  }
  const timer = setTimeout(() => ws.terminate(), graceMs);
  timer.unref();
  socket.once('drain', () => {
    clearTimeout(timer);
    ws.terminate();
  });
}
