/**
 * An authenticated WebSocket: typed messages in both directions, request/response correlation, and the
 * rule that a frame which is not a valid message closes this connection (code + one log line) and nothing else.
 *
 * ```ts
 * const conn = await connect('ws://127.0.0.1:7420', { swarmKey, role: 'client' });   // identity: ephemeral unless given
 * const reply = await conn.request({ t: 'members' });      // typed MessageOf<'members-reply'>: { t, re, self, peers }
 * conn.onMessage((msg) => { ... });  conn.onClose((code, reason) => { ... });
 * conn.close(1000, 'done');
 * ```
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import { CloseCode, ConnectionClosedError, HandshakeError, OptionError, ProtocolError, RemoteError, RequestTimeoutError } from './errors.ts';
import { createLogger, type Logger } from './log.ts';
import { decodeFrame, DEFAULT_MAX_FRAME_BYTES, encodeFrame } from './codec.ts';
import { checkSwarmKey, closeReason, initiateHandshake, toBuffer, type HandshakeResult } from './handshake.ts';
import { generateIdentity, type Identity } from './identity.ts';
import { AEAD_OVERHEAD, type SecureChannel } from './secure-channel.ts';
import { DEFAULT_MAX_BUFFERED_BYTES, PRE_AUTH_MAX_PAYLOAD, raiseMaxPayload, ReadBudget, SLOW_READER_CLOSE_CODE } from './limits.ts';
import { checkReply, isHandshakeMessage, type Message, type ReplyOf, type RequestInputOf, type RequestType, type Role } from './messages.ts';

/** Default time a `request` waits for its reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Label of the TLS exporter used for channel binding. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-ppp2p-handshake';

/** Byte and message counts at the WebSocket layer (payload plus WebSocket frame header). */
export interface TrafficCounters {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

export function newTrafficCounters(): TrafficCounters {
  return { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
}

/** Size of a WebSocket frame carrying `payload` bytes (RFC 6455 header; client frames are masked). */
export function wsFrameBytes(payload: number, masked: boolean): number {
  return payload + 2 + (payload > 65535 ? 8 : payload > 125 ? 2 : 0) + (masked ? 4 : 0);
}

export type MessageHandler = (msg: Message, conn: Connection) => void;
export type CloseHandler = (code: number, reason: string) => void;

/** @internal How the daemon and `connect` build a Connection once the handshake has succeeded. */
export interface ConnectionInit extends HandshakeResult {
  ws: WebSocket;
  direction: 'inbound' | 'outbound';
  /** host:port of the other end, for log lines. */
  remoteAddress: string;
  log: Logger;
  maxFrameBytes: number;
  requestTimeoutMs: number;
  /** Counters shared with the owner (e.g. a PeerController's totals), added to as well as the connection's own. */
  traffic?: TrafficCounters;
  /** Unread bytes queued to the other side beyond which it is dropped as a slow reader. @default DEFAULT_MAX_BUFFERED_BYTES */
  maxBufferedBytes?: number;
  /** Messages handled per event-loop turn before the socket pauses until the next one. @default DEFAULT_MESSAGES_PER_TURN */
  messagesPerTurn?: number;
}

interface Pending {
  resolve: (msg: Message) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  t: RequestType;
}

export class Connection {
  /** The other side's id, derived from the identity key that signed its half of the handshake (identity.ts). */
  readonly remoteId: string;
  /** The other side's raw 32-byte Ed25519 identity key. */
  readonly remoteKey: Buffer;
  /** 'peer' if the initiator is a daemon, 'client' if it is an application's SDK. */
  readonly role: Role;
  /** The other side's listening URL when known (a peer's announced URL, or the URL dialled). */
  readonly remoteUrl: string | undefined;
  /** 'outbound' if this side dialled. */
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string;
  /** This connection's own traffic. */
  readonly traffic: TrafficCounters = newTrafficCounters();

  #ws: WebSocket;
  /** The socket is corked until the end of this turn (see #coalesce). */
  #corked = false;
  /** Seals what is sent and opens what is received; undefined only for the benchmarks' plaintext baseline. */
  #channel: SecureChannel | undefined;
  #log: Logger;
  #maxFrameBytes: number;
  #requestTimeoutMs: number;
  #shared: TrafficCounters | undefined;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #messageHandlers: MessageHandler[] = [];
  #closeHandlers: CloseHandler[] = [];
  /** Messages that arrived before the first onMessage handler (frames right after the handshake). */
  #early: Message[] | undefined = [];
  #flushing = false;
  #closed: { code: number; reason: string } | undefined;
  #closeSent = false;
  #maxBufferedBytes: number;
  #budget: ReadBudget;

  /** @internal Use `connect()` or the PeerController; a Connection exists only once authenticated. */
  constructor(init: ConnectionInit) {
    this.remoteId = init.remoteId;
    this.remoteKey = init.remoteKey;
    this.#channel = init.channel;
    this.role = init.role;
    this.remoteUrl = init.remoteUrl;
    this.direction = init.direction;
    this.remoteAddress = init.remoteAddress;
    this.#ws = init.ws;
    this.#log = init.log;
    this.#maxFrameBytes = init.maxFrameBytes;
    this.#requestTimeoutMs = init.requestTimeoutMs;
    this.#shared = init.traffic;
    this.#maxBufferedBytes = init.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#budget = new ReadBudget(() => this.#resumeReading(), init.messagesPerTurn);
    // Authenticated from here on: frames up to the connection's maximum (the socket was opened with the
    // handshake's small limit, see limits.ts). Runs synchronously with the last handshake frame, before ws
    // parses the next frame's header.
    // Sealed frames carry the AEAD tag on top of the encoded frame.
    raiseMaxPayload(this.#ws, this.#maxFrameBytes + AEAD_OVERHEAD);
    this.#ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    this.#ws.on('close', (code, reason) => this.#onClosed(code, reason.toString('utf8')));
    this.#ws.on('error', (err: Error & { code?: string }) => {
      // ws emits 'error' and then closes the socket itself (1009 for an oversized frame, 1002 for a bad frame).
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.#log.warn(`closing ${this.#label()}: ERR_FRAME_TOO_LARGE frame exceeds the maximum of ${this.#maxFrameBytes} bytes (${CloseCode.FRAME_TOO_LARGE})`);
      } else if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
        this.#log.warn(`closing ${this.#label()}: invalid WebSocket frame: ${err.message} (${err.code})`);
      } else {
        this.#log.debug(`socket error on ${this.#label()}: ${err.message}`);
      }
    });
  }

  /** True until the connection starts closing. */
  get isOpen(): boolean {
    return this.#closed === undefined && !this.#closeSent && this.#ws.readyState === WebSocket.OPEN;
  }

  /** The close code and reason, once closed. */
  get closeInfo(): { code: number; reason: string } | undefined {
    return this.#closed;
  }

  /** Sends one message. Throws ConnectionClosedError if the connection is closing or closed. */
  send(msg: Message): void {
    if (!this.isOpen) throw this.#closedError(`cannot send '${msg.t}'`);
    const frame = encodeFrame(msg);
    if (frame.length > this.#maxFrameBytes) {
      throw new ProtocolError('ERR_FRAME_TOO_LARGE', `'${msg.t}' message of ${frame.length} bytes exceeds the maximum frame size of ${this.#maxFrameBytes}`);
    }
    if (this.#ws.bufferedAmount > this.#maxBufferedBytes) {
      this.#dropSlowReader();
      throw this.#closedError(`cannot send '${msg.t}'`);
    }
    const out = this.#channel === undefined ? frame : this.#channel.seal(frame);
    this.#count('sent', out.length);
    this.#coalesce();
    this.#ws.send(out);
  }

  /**
   * Frames sent in one turn leave in one write: the socket is corked at the first and uncorked once the code that
   * sent them has run (nextTick). Without it every frame was a writev of its own: a controller dispatching threads
   * spent a fifth of its time in writev (bench:dispatch, --cpu-prof). ws corks around each frame too; corks nest.
   */
  #coalesce(): void {
    if (this.#corked) return;
    const socket = (this.#ws as unknown as { _socket?: Socket })._socket;
    if (socket === undefined || socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  /**
   * The other side has not read `bufferedAmount` bytes already sent: drop it (no close handshake, it would queue
   * behind the unread bytes) so that this process never holds more than the bound plus one frame for it.
   */
  #dropSlowReader(): void {
    const buffered = this.#ws.bufferedAmount;
    const reason = `slow reader: ${buffered} bytes unread, more than ${this.#maxBufferedBytes}`;
    this.#log.warn(`closing ${this.#label()}: ${reason} (${SLOW_READER_CLOSE_CODE})`);
    this.#closeSent = true;
    this.#ws.terminate();
    this.#onClosed(SLOW_READER_CLOSE_CODE, reason);
  }

  /**
   * Sends a request (its `id` is assigned here) and resolves with the reply whose `re` matches, typed as the
   * request's reply (`request({ t: 'members' })` resolves to a `members-reply`). Rejects with RemoteError if the
   * reply is an `error` message, UnexpectedReplyError if it is another type than the request's reply,
   * RequestTimeoutError after `timeoutMs` (default 10,000), ConnectionClosedError if the connection closes first.
   */
  request<T extends RequestType>(msg: RequestInputOf<T> & { t: T }, timeoutMs: number = this.#requestTimeoutMs): Promise<ReplyOf<T>> {
    if (!this.isOpen) return Promise.reject(this.#closedError(`cannot send request '${msg.t}'`));
    const id = this.#nextId++;
    return new Promise<ReplyOf<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RequestTimeoutError(`no reply to '${msg.t}' from ${this.#label()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (msg: Message) => void, reject, timer, t: msg.t });
      try {
        this.send({ ...msg, id } as Message);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err as Error);
      }
    });
  }

  /** Calls `handler` for every message that is not a reply to one of this side's requests. Returns an unsubscribe function. */
  onMessage(handler: MessageHandler): () => void {
    this.#messageHandlers.push(handler);
    const early = this.#early;
    if (early !== undefined && !this.#flushing) {
      this.#flushing = true;
      // Delivered after onMessage returns, in arrival order; frames arriving meanwhile queue behind them.
      queueMicrotask(() => {
        for (let i = 0; i < early.length; i++) this.#dispatch(early[i]!);
        this.#early = undefined;
      });
    }
    return () => {
      this.#messageHandlers = this.#messageHandlers.filter((h) => h !== handler);
    };
  }

  /** Calls `handler` once when the connection closes (at once if it already has). Returns an unsubscribe function. */
  onClose(handler: CloseHandler): () => void {
    if (this.#closed !== undefined) {
      const { code, reason } = this.#closed;
      queueMicrotask(() => handler(code, reason));
      return () => {};
    }
    this.#closeHandlers.push(handler);
    return () => {
      this.#closeHandlers = this.#closeHandlers.filter((h) => h !== handler);
    };
  }

  /** Closes the connection; pending requests reject with ConnectionClosedError. */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.#closeSent || this.#closed !== undefined) return;
    this.#closeSent = true;
    try {
      this.#ws.close(code, closeReason(reason));
    } catch {
      this.#ws.terminate();
    }
    // A peer that does not answer the close handshake must not keep the socket (and our stop()) waiting.
    setTimeout(() => {
      if (this.#closed === undefined) this.#ws.terminate();
    }, 1000).unref();
    this.#rejectPending(code, reason);
  }

  /** Drops the socket at once, without a close handshake (tests; a peer declared dead). */
  terminate(): void {
    this.#ws.terminate();
  }

  toString(): string {
    return this.#label();
  }

  #label(): string {
    return `${this.role} ${this.remoteId} (${this.remoteAddress})`;
  }

  #closedError(what: string): ConnectionClosedError {
    const code = this.#closed?.code ?? CloseCode.NORMAL;
    const reason = this.#closed?.reason ?? 'closing';
    return new ConnectionClosedError(`${what}: connection to ${this.#label()} is closed (${code}${reason ? ` ${reason}` : ''})`, code, reason);
  }

  #count(dir: 'sent' | 'received', payload: number): void {
    // Client-to-server frames are masked: outbound connections mask what they send, inbound ones what they receive.
    const masked = dir === 'sent' ? this.direction === 'outbound' : this.direction === 'inbound';
    const bytes = wsFrameBytes(payload, masked);
    for (const c of this.#shared === undefined ? [this.traffic] : [this.traffic, this.#shared]) {
      if (dir === 'sent') {
        c.bytesSent += bytes;
        c.messagesSent++;
      } else {
        c.bytesReceived += bytes;
        c.messagesReceived++;
      }
    }
  }

  #receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.#closed !== undefined || this.#closeSent) return;
    if (!this.#budget.take()) this.#ws.pause();
    const sealed = toBuffer(data);
    this.#count('received', sealed.length);
    let msg: Message;
    try {
      if (!isBinary) throw new ProtocolError('ERR_FRAME_TEXT', `text frame of ${sealed.length} bytes; the protocol uses binary frames`);
      const bytes = this.#channel === undefined ? sealed : this.#channel.open(sealed);
      msg = decodeFrame(bytes, this.#maxFrameBytes);
      if (isHandshakeMessage(msg)) throw new ProtocolError('ERR_UNEXPECTED_MESSAGE', `'${msg.t}' after the handshake`);
    } catch (err) {
      // Whatever a frame does to the decoder, only this connection pays for it.
      return this.protocolError(err instanceof ProtocolError ? err : new ProtocolError('ERR_FRAME_GARBAGE', `frame could not be decoded: ${String(err)}`));
    }
    if ('re' in msg && typeof msg.re === 'number') {
      const pending = this.#pending.get(msg.re);
      if (pending === undefined) {
        this.#log.debug(`dropped '${msg.t}' from ${this.#label()}: no pending request ${msg.re} (timed out?)`);
        return;
      }
      this.#pending.delete(msg.re);
      clearTimeout(pending.timer);
      if (msg.t === 'error') {
        pending.reject(new RemoteError({ code: msg.code, peer: this.remoteId, request: pending.t, remoteMessage: msg.message, where: this.#label() }));
        return;
      }
      let reply: Message;
      try {
        reply = checkReply(pending.t, msg, this.#label());
      } catch (err) {
        pending.reject(err as Error);
        return;
      }
      pending.resolve(reply);
      return;
    }
    if (this.#early !== undefined) {
      this.#early.push(msg);
      return;
    }
    this.#dispatch(msg);
  }

  /** The read budget allows reading again (see ReadBudget in limits.ts). */
  #resumeReading(): void {
    if (this.#closed === undefined && !this.#closeSent) this.#ws.resume();
  }

  #dispatch(msg: Message): void {
    for (const h of this.#messageHandlers) {
      try {
        h(msg, this);
      } catch (err) {
        if (err instanceof ProtocolError) return this.protocolError(err);
        this.#log.error(`handler for '${msg.t}' from ${this.#label()} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }

  /** Logs one line and closes this connection with the error's close code. @internal */
  protocolError(err: ProtocolError): void {
    if (this.#closeSent || this.#closed !== undefined) return;
    this.#log.warn(`closing ${this.#label()}: ${err.code} ${err.message} (${err.closeCode})`);
    this.close(err.closeCode, `${err.code}: ${err.message}`);
  }

  #rejectPending(code: number, reason: string): void {
    if (this.#pending.size === 0) return;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new ConnectionClosedError(`no reply to '${p.t}': connection to ${this.#label()} closed (${code}${reason ? ` ${reason}` : ''})`, code, reason));
    }
  }

  #onClosed(code: number, reason: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = { code, reason };
    this.#rejectPending(code, reason);
    const handlers = this.#closeHandlers;
    this.#closeHandlers = [];
    for (const h of handlers) {
      try {
        h(code, reason);
      } catch (err) {
        this.#log.error(`close handler of ${this.#label()} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }
}

export interface ConnectOptions {
  /** The swarm key (32 bytes). */
  swarmKey: Uint8Array;
  /** 'client' for an application's SDK, 'peer' for a daemon. */
  role: Role;
  /**
   * This side's identity (identity.ts): its id is derived from the public key and it signs the handshake.
   * @default a fresh ephemeral identity for this connection
   */
  identity?: Identity;
  /** The URL this side listens on (daemons), announced to the acceptor. */
  url?: string;
  /** Time for the socket to open and the handshake to complete. @default 10000 */
  timeoutMs?: number;
  /** @default 65536 × 1024 (64 MiB) */
  maxFrameBytes?: number;
  /** Default timeout of `request`. @default 10000 */
  requestTimeoutMs?: number;
  /** @default a logger at level 'warn' on stderr */
  log?: Logger;
  /**
   * For wss:// URLs. Certificates are not verified by default: on TLS the handshake binds both proofs to the
   * TLS session (exporter keying material), so only a holder of the swarm key can complete it, and a man in
   * the middle cannot relay it. Pass `rejectUnauthorized: true` (and `ca`) to verify certificates as well.
   */
  tls?: { ca?: string | Buffer | (string | Buffer)[]; rejectUnauthorized?: boolean };
  /** Counters to add this connection's traffic to. */
  traffic?: TrafficCounters;
  /** Unread bytes queued to the other side beyond which it is dropped as a slow reader (4429). @default 64 MiB */
  maxBufferedBytes?: number;
  /** @internal Tests only: announce another protocol version. */
  protocolVersion?: number;
}

/** See `connect`: frames from a ppp2p client are sent unmasked (a zero masking key). */
export function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

/**
 * Dials a daemon and authenticates. Resolves with an open Connection; rejects with a HandshakeError
 * (ERR_AUTH_FAILED, ERR_VERSION_MISMATCH, ERR_HANDSHAKE_TIMEOUT, ERR_HANDSHAKE_FAILED — with the close code
 * and reason) or with the socket error if the daemon cannot be reached.
 */
export function connect(url: string, opts: ConnectOptions): Promise<Connection> {
  checkSwarmKey(opts.swarmKey);
  if (!/^wss?:\/\//.test(url)) return Promise.reject(new OptionError(`url must start with ws:// or wss://, got '${url}'`));
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const log = opts.log ?? createLogger({ level: 'warn', component: 'connection' });
  const tlsUrl = url.startsWith('wss://');
  const ws = new WebSocket(url, {
    // The handshake's limit until it succeeds; the Connection raises it to maxFrameBytes.
    maxPayload: PRE_AUTH_MAX_PAYLOAD,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    // Client frames carry an all-zero masking key, which both ends of ws skip: masking defends HTTP proxies
    // against script-forged frames from browsers; our endpoints authenticate each other, and masking every
    // byte in JavaScript was the largest cost of peer-to-peer messages (bench/messaging.ts).
    generateMask: zeroMask,
    ...(tlsUrl ? { ca: opts.tls?.ca, rejectUnauthorized: opts.tls?.rejectUnauthorized ?? false } : {}),
  });
  // A socket error must never go unhandled (an 'error' event without a listener would throw).
  ws.on('error', (err) => log.debug(`socket error on the connection to ${url}: ${err.message}`));
  let socket: TLSSocket | undefined;
  ws.on('upgrade', (res) => {
    socket = res.socket as TLSSocket;
  });
  return new Promise<Connection>((resolve, reject) => {
    const started = Date.now();
    const onError = (err: Error): void => {
      ws.off('open', onOpen);
      ws.off('close', onEarlyClose);
      ws.terminate();
      reject(err);
    };
    const onEarlyClose = (code: number, reason: Buffer): void => {
      ws.off('error', onError);
      reject(new HandshakeError('ERR_HANDSHAKE_FAILED', `connection to ${url} closed before it opened (${code} ${reason.toString()})`, code, reason.toString()));
    };
    const onOpen = (): void => {
      ws.off('error', onError);
      ws.off('close', onEarlyClose);
      let channelBinding: Uint8Array | undefined;
      if (tlsUrl) {
        if (socket === undefined || typeof socket.exportKeyingMaterial !== 'function') {
          ws.terminate();
          reject(new HandshakeError('ERR_HANDSHAKE_FAILED', `cannot bind the handshake to the TLS session of ${url}`));
          return;
        }
        channelBinding = socket.exportKeyingMaterial(32, TLS_EXPORTER_LABEL, Buffer.alloc(0));
      }
      const remoteAddress = `${new URL(url).host}`;
      initiateHandshake(
        ws,
        {
          swarmKey: opts.swarmKey,
          identity: opts.identity ?? generateIdentity(),
          role: opts.role,
          url: opts.url,
          dialledUrl: url,
          channelBinding,
          timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
          protocolVersion: opts.protocolVersion,
        },
        (r) =>
          new Connection({
            ...r,
            ws,
            direction: 'outbound',
            remoteAddress,
            log,
            maxFrameBytes,
            maxBufferedBytes: opts.maxBufferedBytes,
            requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
            traffic: opts.traffic,
          }),
      ).then(resolve, reject);
    };
    ws.once('error', onError);
    ws.once('open', onOpen);
    ws.once('close', onEarlyClose);
  });
}
