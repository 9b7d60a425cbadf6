/**
 * The thread's side of message passing and globals, inside an executor slot (thread-worker.ts). It
 * implements `ThreadHost.send/receive/globals` on top of the slot's port: the peer's message manager
 * (src/daemon/host/message-manager.ts) is the other side.
 *
 * What lives here, and why here (docs/effects-and-recovery.md):
 * - the *outbox*: every message sent, kept in `ThreadState.outbox` until its receiver's acknowledged
 *   checkpoint covers it. It is thread state, so it travels with every snapshot: a resumed sender re-sends it.
 * - the *consumed cursor*: `ThreadState.consumed[from]` is the highest seq received from each sender. A resumed
 *   receiver tells its new host where its mailbox starts, and drops anything at or below it.
 * - `ThreadState.lastSent[to]`: the `prev` of the next message to `to`. Each message names its predecessor
 *   of the same pair, so a mailbox accepts messages only in chain order and FIFO holds across re-sends.
 *
 * Sends are pipelined: `send` returns at once unless `mailboxSize` messages to the same receiver have not been
 * received by it yet (then it waits: backpressure). Consecutive sends are coalesced into one post to the host,
 * which goes out before any other call to the host (in the same post as the call), when a send has to wait, when the thread yields to its event
 * loop, at every checkpoint opportunity, and every 64 messages or 1 MB; a post is one buffer copied to the
 * host (worker-messages.ts `packEntries`), not a copy per message. Receives prefetch: one call to the host
 * brings up to `min(32, mailboxSize)` waiting messages (one moved buffer), the next receives take them from here.
 * @internal Used by thread-worker.ts.
 */
import { decodeSnapshot, encodeValue as encodeSnapshotValue } from './snapshot-codec.ts';
import { isThreadEffectCode, ReceiveTimeoutError, ThreadEffectCode, ThreadEffectError, UnserializableValueError } from './errors.ts';
import type { GlobalsOp, OutboxEntry, ThreadState } from './thread-context.ts';
import { packEntries, unpackDelivered, type Delivered, type FromWorker, type HostNotice, type ThreadCall, type ToWorkerMessaging } from './worker-messages.ts';

/** Default of `VirtualComputerOptions.mailboxSize`. */
export const DEFAULT_MAILBOX_SIZE = 256;
/** Most messages one receive call brings from the host. */
const PREFETCH = 32;
/** Coalesced sends are posted at this many messages or bytes, at the latest. */
const COALESCE_MESSAGES = 64;
const COALESCE_BYTES = 1024 * 1024;
/**
 * Outbox bytes above which the oldest entries are dropped (with a warning): a receiver that never
 * checkpoints would otherwise make its senders keep every message forever. Dropped entries cannot be
 * re-sent if that receiver fails and resumes from before them.
 */
export const OUTBOX_LIMIT_BYTES = 64 * 1024 * 1024;

interface PendingCall {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Window {
  /** Seqs of sends to this receiver that it has not received yet, oldest first. */
  unacked: number[];
  waiters: (() => void)[];
}

export class ThreadMessaging {
  readonly #post: (m: FromWorker, transfer?: ArrayBuffer[]) => void;
  readonly #window: number;
  readonly #prefetch: number;
  #state: ThreadState | undefined;
  #nextCall = 1;
  readonly #calls = new Map<number, PendingCall>();
  readonly #windows = new Map<number, Window>();
  /** Messages the host already handed over and thread code has not received yet. */
  readonly #buffer: Delivered[] = [];
  #outboxBytes = 0;
  #warnedOutbox = false;
  #closed = false;
  /** Sends not yet posted to the host. */
  #unposted: OutboxEntry[] = [];
  #unpostedBytes = 0;
  #flushScheduled = false;
  // V8 keeps a function's optimized code only weakly once no closure holds it: a fresh arrow per call is
  // optimized again after full GCs (seen with --log-code), one made once stays optimized.
  readonly #flushSoon = (): void => this.flush();

  constructor(post: (m: FromWorker, transfer?: ArrayBuffer[]) => void, mailboxSize = DEFAULT_MAILBOX_SIZE) {
    this.#post = post;
    this.#window = Math.max(1, mailboxSize);
    this.#prefetch = Math.max(1, Math.min(PREFETCH, mailboxSize));
  }

  /**
   * Binds the thread's state, fresh or decoded from a snapshot, before its code runs: tells the host where
   * the mailbox starts and, for a resumed thread, re-sends its outbox (the receivers drop what they have).
   */
  attach(state: ThreadState, resumed: boolean): void {
    // Snapshots taken before these fields existed resume with empty ones.
    state.consumed ??= {};
    state.lastSent ??= {};
    state.outbox ??= [];
    this.#state = state;
    this.#outboxBytes = state.outbox.reduce((n, e) => n + e.bytes.byteLength, 0);
    this.#post({ type: 'notice', notice: { kind: 'cursor', consumed: { ...state.consumed } } });
    if (resumed && state.outbox.length > 0) this.#postEntries('resend', state.outbox);
  }

  /**
   * The thread has ended (returned or threw): no more calls. Its outbox goes to the host, which hands it to the
   * owner: a receiver that resumes from before some of these messages gets them from there.
   */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    const state = this.#state;
    if (state !== undefined) this.#postEntries('residual', state.outbox);
  }

  async send(to: number, value: unknown, seq: number): Promise<void> {
    const state = this.#attached('thread.send');
    checkThreadId(to, state, 'thread.send(to, value)');
    const bytes = encodeValue(value, `thread.send(${to}, value)`);
    const entry: OutboxEntry = { to, seq, prev: state.lastSent[to] ?? -1, bytes };
    state.lastSent[to] = seq;
    this.#keep(entry);
    this.#unposted.push(entry);
    this.#unpostedBytes += bytes.byteLength;
    if (this.#unposted.length >= COALESCE_MESSAGES || this.#unpostedBytes >= COALESCE_BYTES) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushSoon);
    }
    let w = this.#windows.get(to);
    if (w === undefined) this.#windows.set(to, (w = { unacked: [], waiters: [] }));
    w.unacked.push(seq);
    if (w.unacked.length <= this.#window) return;
    this.flush();
    while (w.unacked.length > this.#window) await new Promise<void>((resolve) => w.waiters.push(resolve));
  }

  /** Posts the coalesced sends to the host. */
  flush(): void {
    const entries = this.#takeUnposted();
    if (entries !== undefined) this.#postEntries('send', entries);
  }

  #takeUnposted(): OutboxEntry[] | undefined {
    this.#flushScheduled = false;
    if (this.#unposted.length === 0) return undefined;
    const entries = this.#unposted;
    this.#unposted = [];
    this.#unpostedBytes = 0;
    return entries;
  }

  #postEntries(kind: 'send' | 'resend' | 'residual', entries: readonly OutboxEntry[]): void {
    const batch = packEntries(entries);
    // Cloned, not transferred: a thread's isolate must never detach a buffer (see the snapshot in thread-worker.ts).
    this.#post({ type: 'entries', kind, batch });
  }

  async receive(opts: { from?: number; timeoutMs?: number } = {}): Promise<{ from: number; value: unknown }> {
    const state = this.#attached('thread.receive');
    if (typeof opts !== 'object' || opts === null) throw new TypeError('thread.receive(options): options must be an object such as { from: 2, timeoutMs: 1000 }');
    const { from, timeoutMs } = opts;
    if (from !== undefined) checkThreadId(from, state, 'thread.receive({ from })');
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && Number.isFinite(timeoutMs))) {
      throw new TypeError(`thread.receive({ timeoutMs }): timeoutMs must be a non-negative number of milliseconds, got ${String(timeoutMs)}`);
    }
    const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
    for (;;) {
      const i = from === undefined ? (this.#buffer.length > 0 ? 0 : -1) : this.#buffer.findIndex((m) => m.from === from);
      let m: Delivered;
      if (i >= 0) {
        m = i === 0 ? this.#buffer.shift()! : this.#buffer.splice(i, 1)[0]!;
      } else {
        const left = deadline === undefined ? undefined : Math.max(0, Math.round(deadline - performance.now()));
        let batch: Delivered[];
        try {
          batch = (await this.#call({ kind: 'receive', from, timeoutMs: left, max: this.#prefetch })) as Delivered[];
        } catch (err) {
          if (err instanceof ThreadEffectError && err.code === ThreadEffectCode.RECEIVE_TIMEOUT) throw new ReceiveTimeoutError(state.id, from, timeoutMs ?? 0);
          throw err;
        }
        m = batch[0]!;
        for (let k = 1; k < batch.length; k++) this.#buffer.push(batch[k]!);
      }
      // A message at or below the cursor was received before the snapshot this thread resumed from.
      if (m.seq <= (state.consumed[m.from] ?? -1)) continue;
      state.consumed[m.from] = m.seq;
      return { from: m.from, value: decodeSnapshot(m.bytes) };
    }
  }

  async globals(op: GlobalsOp, seq: number): Promise<unknown> {
    this.#attached('globals');
    if (typeof op.name !== 'string' || op.name === '' || op.name.length > 1024) {
      throw new TypeError(`globals.${op.op}(name): name must be a non-empty string of at most 1024 characters, got ${JSON.stringify(op.name)}`);
    }
    const where = `globals.${op.op === 'lock' || op.op === 'unlock' ? 'update' : op.op}('${op.name}')`;
    let call: ThreadCall;
    switch (op.op) {
      case 'get':
      case 'lock':
        call = { kind: 'globals', seq, op: op.op, name: op.name };
        break;
      case 'set':
        call = { kind: 'globals', seq, op: op.op, name: op.name, value: encodeValue(op.value, where) };
        break;
      case 'compareAndSet':
        call = { kind: 'globals', seq, op: op.op, name: op.name, expected: encodeValue(op.expected, where), value: encodeValue(op.next, where) };
        break;
      case 'unlock':
        call = { kind: 'globals', seq, op: op.op, name: op.name, write: op.write, ...(op.write ? { value: encodeValue(op.value, where) } : {}) };
        break;
    }
    const reply = (await this.#call(call)) as { value?: Uint8Array; ok?: boolean } | undefined;
    if (op.op === 'compareAndSet') return reply?.ok === true;
    return reply?.value === undefined ? undefined : decodeSnapshot(reply.value);
  }

  /** Handles the host's replies and notices for this thread. */
  onMessage(m: ToWorkerMessaging): void {
    if (m.type === 'reply' || m.type === 'delivered') {
      const call = this.#calls.get(m.id);
      if (call === undefined) return;
      this.#calls.delete(m.id);
      if (m.type === 'delivered') call.resolve(unpackDelivered(m.batch));
      else if (m.ok) call.resolve(m.value);
      else call.reject(rebuildError(m.name, m.message, m.code));
      return;
    }
    this.#notice(m.notice);
  }

  #notice(n: HostNotice): void {
    const state = this.#state;
    switch (n.kind) {
      case 'acked': {
        const w = this.#windows.get(n.to);
        if (w === undefined) return;
        let k = 0;
        while (k < w.unacked.length && w.unacked[k]! <= n.upTo) k++;
        if (k > 0) w.unacked.splice(0, k);
        while (w.waiters.length > 0 && w.unacked.length <= this.#window) w.waiters.shift()!();
        return;
      }
      case 'outbox-trim': {
        if (state === undefined) return;
        // Loops, not filter/reduce with arrows made per notice (V8 re-optimizes such short-lived closures after GCs).
        const kept: OutboxEntry[] = [];
        let bytes = 0;
        for (const e of state.outbox) {
          if (e.to !== n.to || e.seq > n.upTo) {
            kept.push(e);
            bytes += e.bytes.byteLength;
          }
        }
        if (kept.length === state.outbox.length) return;
        state.outbox = kept;
        this.#outboxBytes = bytes;
        return;
      }
      case 'outbox-resend': {
        if (state === undefined) return;
        const entries = state.outbox.filter((e) => e.to === n.to && e.seq > n.after);
        this.#postEntries('resend', entries);
        return;
      }
    }
  }

  #keep(entry: OutboxEntry): void {
    const state = this.#state!;
    state.outbox.push(entry);
    this.#outboxBytes += entry.bytes.byteLength;
    if (this.#outboxBytes <= OUTBOX_LIMIT_BYTES) return;
    let drop = 0;
    while (this.#outboxBytes > OUTBOX_LIMIT_BYTES / 2 && drop < state.outbox.length - 1) this.#outboxBytes -= state.outbox[drop++]!.bytes.byteLength;
    state.outbox.splice(0, drop);
    if (!this.#warnedOutbox) {
      this.#warnedOutbox = true;
      console.warn(
        `ppp2p: thread ${state.id}'s outbox passed ${OUTBOX_LIMIT_BYTES >> 20} MB: its receivers have not checkpointed past ` +
          `${drop} of its messages, which are now dropped from it and cannot be re-sent if a receiver fails. ` +
          'Receivers that call checkpoint() let their senders trim their outboxes.',
      );
    }
  }

  /** Posts a call to the host, with the coalesced sends (which the host handles first) in the same post. */
  #call(call: ThreadCall): Promise<unknown> {
    if (this.#closed) {
      this.flush();
      return Promise.reject(new ThreadEffectError(ThreadEffectCode.THREAD_ENDED, 'The thread has ended: its host answers no more calls.'));
    }
    const id = this.#nextCall++;
    const entries = this.#takeUnposted();
    return new Promise<unknown>((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      if (entries === undefined) {
        this.#post({ type: 'call', id, call });
      } else {
        const sends = packEntries(entries);
        this.#post({ type: 'call', id, call, sends });
      }
    });
  }

  #attached(what: string): ThreadState {
    if (this.#state === undefined) throw new ThreadEffectError(ThreadEffectCode.NOT_ATTACHED, `${what}() was called before the thread started.`);
    return this.#state;
  }
}

function checkThreadId(id: unknown, state: ThreadState, where: string): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= state.count) {
    throw new RangeError(`${where}: there is no thread ${String(id)}; thread ids go from 0 to thread.count - 1 (${state.count - 1}).`);
  }
}

function encodeValue(value: unknown, where: string): Uint8Array {
  try {
    return encodeSnapshotValue(value);
  } catch (err) {
    if (err instanceof UnserializableValueError) {
      const at = err.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
      throw new TypeError(`${where}: the value${at === '' ? '' : ` at value${at}`} is ${err.what}, which cannot be sent.`, { cause: err });
    }
    throw err;
  }
}

/** A host's failed answer, rebuilt in the thread: its code and name stay data (a code outside the registry becomes ERR_HOST). */
function rebuildError(name: string, message: string, code: string | undefined): Error {
  const e = isThreadEffectCode(code) ? new ThreadEffectError(code, message) : new ThreadEffectError(ThreadEffectCode.HOST, code === undefined ? message : `${message} (${code})`);
  if (name !== '' && name !== 'Error') e.name = name;
  return e;
}
