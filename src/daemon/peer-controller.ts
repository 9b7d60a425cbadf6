/**
 * The Peer Controller daemon's core: a WebSocket server that authenticates every connection, a dispatcher
 * that hands each message type to the component that registered for it, a cache of direct connections to
 * other peers, and the participation manager (membership, failure detection).
 *
 * ```ts
 * const pc = await PeerController.start({ swarmKey, port: 0, join: ['ws://127.0.0.1:7420'] });
 * pc.register({ members: { client: () => ({ t: 'members-reply', self: pc.id, peers: pc.membership.peers() }) } });
 * pc.membership.on('peer-dead', (p) => ...);
 * const conn = await pc.connectTo(otherPeerId);   // authenticated, cached
 * await pc.stop();
 * ```
 * Invariant: nothing a connection sends can stop the daemon. A bad frame closes that connection (one log
 * line); a throwing handler answers the request with an `error` reply; state is never touched by a frame
 * that failed validation.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { availableParallelism, networkInterfaces, tmpdir } from 'node:os';
import { dirname, join as joinPath, resolve as resolvePath } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { connect, Connection, DEFAULT_REQUEST_TIMEOUT_MS, newTrafficCounters, TLS_EXPORTER_LABEL, type TrafficCounters } from '../protocol/connection.ts';
import { CloseCode, ErrorCode, errorReplyOf, HandshakeError, OptionError, PeerControllerStateError, ProtocolError, UnknownPeerError } from '../protocol/errors.ts';
import { createLogger, isLogLevel, type Logger, type LogLevel } from '../protocol/log.ts';
import { measureSpeed, ParticipationManager, type ParticipationOptions } from './swarm/participation-manager.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/codec.ts';
import { acceptHandshake, checkSwarmKey, DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../protocol/handshake.ts';
import { generateIdentity, identityFromPrivateKey, loadOrCreateIdentity, type Identity } from '../protocol/identity.ts';
import { DEFAULT_MAX_BUFFERED_BYTES, PRE_AUTH_MAX_PAYLOAD, RateLimitedLog, terminateWhenFlushed } from '../protocol/limits.ts';
import { Admission, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_PER_ADDRESS } from './admission.ts';
import type { Message, MessageOf, MessageType, ReplyInput, Role } from '../protocol/messages.ts';
import type { HandlerResult, HandlerTable, MessageHandlers, Sender } from './message-handlers.ts';

export interface PeerControllerOptions {
  /** The swarm key: 32 bytes shared by every peer and client of the swarm (`ppp2p keygen`). */
  swarmKey: Uint8Array;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** URLs of peers to join through (any one that answers is enough). @default [] */
  join?: string[];
  /** Virtual threads this peer runs at once. @default os.availableParallelism() */
  slots?: number;
  /** Directory for this peer's files (assembly cache, checkpoint store). @default a fresh directory under os.tmpdir(), removed by stop() */
  dataDir?: string;
  /** @default 'info' (ignored when `log` is given) */
  logLevel?: LogLevel;
  /** Where log lines go. @default a logger on stderr at `logLevel` */
  log?: Logger;
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The URL other peers dial to reach this one. @default ws(s)://<host>:<port>, with a non-loopback address if host is 0.0.0.0 */
  advertiseUrl?: string;
  /**
   * This peer's Ed25519 identity: a private KeyObject, or the path of a PKCS#8 PEM file (created, mode 0600, if
   * missing). The peer id is derived from its public key (identity.ts).
   * @default `<dataDir>/identity.key` (created on first start, reused after); an ephemeral key without `dataDir`
   */
  identity?: KeyObject | string;
  /** Speed score to advertise instead of measuring it (tests, many peers in one process). @default measured, ~100 ms */
  speed?: number;
  /** Maximum WebSocket frame size. @default 64 MiB */
  maxFrameBytes?: number;
  /** Default timeout of `Connection.request`. @default 10000 */
  requestTimeoutMs?: number;
  /** Time a new inbound connection has from TCP accept to a completed handshake (HTTP upgrade included). @default 5000 */
  handshakeTimeoutMs?: number;
  /** Inbound connections at once, authenticated or not; more are refused (see admission.ts). @default 1024 */
  maxConnections?: number;
  /** Unauthenticated inbound connections at once from one address; more are refused. @default 64 */
  maxPendingPerAddress?: number;
  /** Unread bytes queued to a connection beyond which it is closed as a slow reader (4429). @default 64 MiB */
  maxBufferedBytes?: number;
  /** Failure-detector and gossip timing (see ParticipationOptions for defaults). */
  membership?: Partial<ParticipationOptions>;
}

export interface PeerControllerEvents {
  /** A connection authenticated (either direction, peers and clients). */
  connection: [Connection];
}

type State = 'running' | 'stopping' | 'stopped';

/** How long after start one-way messages without a handler wait for one (components register right after start). */
const EARLY_MESSAGES_WINDOW_MS = 10_000;
/** Most such messages kept. */
const MAX_EARLY_MESSAGES = 1024;

export class PeerController extends EventEmitter<PeerControllerEvents> {
  /** This peer's id, derived from its identity key (identity.ts). */
  readonly id: string;
  /** This peer's raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** The URL other peers and clients dial. */
  readonly url: string;
  /** The participation manager: `peers()`, events 'peer-alive', 'peer-suspect', 'peer-dead', 'peer-update'. */
  readonly membership: ParticipationManager;
  /** Threads this peer runs at once. */
  readonly slots: number;
  /** The speed score this peer advertises. */
  readonly speed: number;
  readonly dataDir: string;
  readonly log: Logger;

  #state: State = 'running';
  #swarmKey: Uint8Array;
  #identity: Identity;
  #server: Server;
  #wss: WebSocketServer;
  #handlers = new Map<MessageType, MessageHandlers<MessageType>>();
  /** One-way messages that arrived, shortly after start, before a component registered their handler. */
  #early: { msg: Message; conn: Connection }[] = [];
  #earlyUntil = Date.now() + EARLY_MESSAGES_WINDOW_MS;
  #conns = new Map<string, Set<Connection>>();
  #dialing = new Map<string, Promise<Connection>>();
  #handshaking = new Set<WebSocket>();
  #traffic = newTrafficCounters();
  #connLog: Logger;
  /** Messages (not requests) refused by their handler with a typed error: the sender's doing, so one warning per kind per 10 s. */
  readonly #refusals = new RateLimitedLog((line) => this.log.warn(line));
  #maxFrameBytes: number;
  #maxBufferedBytes: number;
  #requestTimeoutMs: number;
  #admission: Admission;
  #removeDataDir: boolean;
  #tls: boolean;

  private constructor(init: {
    id: string;
    identity: Identity;
    url: string;
    server: Server;
    wss: WebSocketServer;
    admission: Admission;
    opts: PeerControllerOptions;
    log: Logger;
    slots: number;
    speed: number;
    dataDir: string;
    removeDataDir: boolean;
  }) {
    super();
    this.id = init.id;
    this.#identity = init.identity;
    this.publicKey = init.identity.publicKey;
    this.url = init.url;
    this.log = init.log;
    this.slots = init.slots;
    this.speed = init.speed;
    this.dataDir = init.dataDir;
    this.#removeDataDir = init.removeDataDir;
    this.#server = init.server;
    this.#wss = init.wss;
    this.#admission = init.admission;
    this.#maxBufferedBytes = init.opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#swarmKey = init.opts.swarmKey;
    this.#tls = init.opts.tls !== undefined;
    this.#connLog = init.log.child('connection');
    this.#maxFrameBytes = init.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#requestTimeoutMs = init.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.membership = new ParticipationManager(
      { id: this.id, url: this.url, slots: this.slots, freeSlots: this.slots, speed: this.speed },
      init.opts.join ?? [],
      {
        connectToMember: (id, url, timeoutMs) => this.#connectTo(id, url, timeoutMs),
        dial: (url, timeoutMs) => this.#dial(url, timeoutMs),
        hasConnection: (id) => this.#openConnection(id) !== undefined,
        closeConnections: (id, code, reason) => {
          for (const c of this.#conns.get(id) ?? []) if (c.role === 'peer') c.close(code, reason);
        },
      },
      init.log.child('participation'),
      init.opts.membership,
    );
    this.register(this.membership.handlers());
    const members = (): ReplyInput => ({ t: 'members-reply', self: this.id, peers: this.membership.peers({ includeDead: true }) });
    const echo = (msg: MessageOf<'echo'>): ReplyInput => ({ t: 'echo-reply', value: msg.value });
    this.register({ members: { peer: members, client: members }, echo: { peer: echo, client: echo } });
  }

  /** Starts listening, measures the speed score, joins through `join`, and resolves once listening. */
  static async start(opts: PeerControllerOptions): Promise<PeerController> {
    checkOptions(opts);
    const log = opts.log ?? createLogger({ level: opts.logLevel ?? 'info', component: 'peer' });
    // Before listening, and before the identity file in it: a data dir that cannot be used fails the start with
    // nothing left bound.
    if (opts.dataDir !== undefined) prepareDataDir(opts.dataDir);
    const identity: Identity =
      typeof opts.identity === 'string'
        ? loadOrCreateIdentity(opts.identity)
        : opts.identity !== undefined
          ? identityFromPrivateKey(opts.identity)
          : opts.dataDir !== undefined
            ? loadOrCreateIdentity(joinPath(opts.dataDir, 'identity.key'))
            : generateIdentity();
    const id = identity.id;
    const slots = opts.slots ?? availableParallelism();
    const speed = opts.speed ?? measureSpeed(100);
    const host = opts.host ?? '127.0.0.1';
    const removeDataDir = opts.dataDir === undefined;
    const dataDir = opts.dataDir ?? joinPath(tmpdir(), `ppp2p-peer-${id}`);
    if (removeDataDir) prepareDataDir(dataDir);
    const server = opts.tls !== undefined ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createHttpServer();
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('ppp2p peer: connect with a WebSocket client (the ppp2p SDK or another peer)\n');
    });
    const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const admission = new Admission(
      server,
      { maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS, maxPendingPerAddress: opts.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS, handshakeTimeoutMs },
      log.child('connection'),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new OptionError(`port ${opts.port ?? 0} on ${host} is in use; pick another with --port, or --port 0 for any free port`)
            : err,
        );
      });
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    server.on('error', (err) => log.error(`server error: ${err.message}`));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
    const url = opts.advertiseUrl ?? `${opts.tls !== undefined ? 'wss' : 'ws'}://${advertisedHost(host)}:${port}`;
    // Until a socket authenticates, ws refuses any frame larger than a handshake frame while parsing its header;
    // its Connection raises the limit to maxFrameBytes (limits.ts).
    const wss = new WebSocketServer({ server, maxPayload: PRE_AUTH_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
    const pc = new PeerController({ id, identity, url, server, wss, admission, opts, log, slots, speed, dataDir, removeDataDir });
    wss.on('connection', (ws, req) => pc.#accept(ws, req));
    wss.on('error', (err) => log.error(`WebSocket server error: ${err.message}`));
    log.info(`listening on ${url}`, { peer: id, slots, speed });
    await pc.membership.start();
    return pc;
  }

  /** 'running' until `stop()` is called. */
  get state(): State {
    return this.#state;
  }

  /**
   * Registers a component's handler table (see message-handlers.ts): one table per component, one handler entry per
   * message type in the whole peer (a type registered twice throws). Returns a function that unregisters the table.
   * A request without a handler is answered with an `error` ERR_NO_HANDLER.
   */
  register(table: HandlerTable): () => void {
    const entries = Object.entries(table) as [MessageType, MessageHandlers<MessageType>][];
    for (const [type] of entries) if (this.#handlers.has(type)) throw new OptionError(`a handler for '${type}' is already registered`);
    for (const [type, entry] of entries) this.#handlers.set(type, entry);
    if (this.#early.length > 0) {
      const waiting = this.#early;
      this.#early = [];
      for (const { msg, conn } of waiting) if (conn.isOpen) this.#dispatch(msg, conn);
    }
    return () => {
      for (const [type, entry] of entries) if (this.#handlers.get(type) === entry) this.#handlers.delete(type);
    };
  }

  /** Removes the handlers of a message type, built-in ones included (to replace them). Returns whether there were some. */
  unhandle(type: MessageType): boolean {
    return this.#handlers.delete(type);
  }

  /**
   * Runs the peer handler of a message this peer sends itself (PeerLinks' local path), as if it had come from a
   * peer connection. A type with no peer handler is an error of this peer's own code.
   */
  handleLocal(msg: Message, from: Sender): HandlerResult {
    const handler = this.#handlers.get(msg.t)?.peer;
    if (handler === undefined) throw new OptionError(`this peer has no peer handler for '${msg.t}' (sent to itself)`);
    return handler(msg, from, undefined);
  }

  /**
   * An authenticated connection to a known peer: an open one in either direction if there is one, else a new
   * one (concurrent calls share it). Rejects with UnknownPeerError for a peer the membership does not know as
   * alive or suspect, or with the connection error. `connectTo(pc.id)` connects this peer to itself.
   */
  connectTo(peerId: string, timeoutMs = 5000): Promise<Connection> {
    if (this.#state !== 'running') return Promise.reject(new PeerControllerStateError(`Not running. Current state: ${this.#state}`));
    const info = this.membership.peer(peerId);
    if (info === undefined || info.state === 'dead') {
      return Promise.reject(new UnknownPeerError(`peer ${peerId} is ${info === undefined ? 'not a known member' : 'dead'}; known peers are in membership.peers()`));
    }
    return this.#connectTo(peerId, info.url, timeoutMs);
  }

  /** Authenticated connections open now; with `role`, only those of that role. */
  connections(role?: Role): Connection[] {
    const out: Connection[] = [];
    for (const set of this.#conns.values()) for (const c of set) if (c.isOpen && (role === undefined || c.role === role)) out.push(c);
    return out;
  }

  /** Sets which remote addresses may connect (the donor's usage policy); checked before anything is read. */
  setAddressFilter(allowed: (address: string) => boolean): void {
    this.#admission.addressAllowed = allowed;
  }

  /** Advertises this many free slots to the swarm (gossip; fast changes are coalesced). */
  setFreeSlots(n: number): void {
    this.membership.setFreeSlots(n);
  }

  /** Bytes and messages sent and received by all of this peer's connections so far (WebSocket layer). */
  traffic(): TrafficCounters {
    return { ...this.#traffic };
  }

  /** Leaves the swarm (tells the others), closes every connection and the server. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.log.info('stopping');
    await this.membership.stop();
    this.#wss.close();
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const ws of this.#handshaking) ws.terminate();
    const closing = this.connections().map((c) => new Promise<void>((resolve) => c.onClose(() => resolve())));
    for (const set of this.#conns.values()) for (const c of set) c.close(CloseCode.GOING_AWAY, 'peer stopping');
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1500).unref());
    await Promise.race([Promise.all(closing), timeout]);
    for (const set of this.#conns.values()) for (const c of set) c.terminate();
    this.#server.closeAllConnections?.();
    await Promise.race([serverClosed, timeout]);
    if (this.#removeDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.#state = 'stopped';
    this.log.info('stopped');
  }

  // ---- connections ----

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const remoteAddress = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    // The handshake's timer takes over the admission deadline, with what is left of it.
    this.#admission.upgraded(req.socket);
    const handshakeTimeoutMs = this.#admission.remainingMs(req.socket);
    ws.on('error', (err) => {
      // Before authentication any error (an oversized or invalid frame) ends the socket at once.
      this.#connLog.debug(`socket error from ${remoteAddress} during the handshake: ${err.message}`);
      terminateWhenFlushed(ws);
    });
    if (this.#state !== 'running') {
      ws.close(CloseCode.GOING_AWAY, 'peer stopping');
      return;
    }
    let channelBinding: Uint8Array | undefined;
    if (this.#tls) channelBinding = (req.socket as TLSSocket).exportKeyingMaterial(32, TLS_EXPORTER_LABEL, Buffer.alloc(0));
    this.#handshaking.add(ws);
    acceptHandshake(ws, { swarmKey: this.#swarmKey, identity: this.#identity, channelBinding, timeoutMs: handshakeTimeoutMs }, (r) => {
      ws.removeAllListeners('error');
      this.#admission.authenticated(req.socket);
      return new Connection({
        ...r,
        ws,
        direction: 'inbound',
        remoteAddress,
        log: this.#connLog,
        maxFrameBytes: this.#maxFrameBytes,
        maxBufferedBytes: this.#maxBufferedBytes,
        requestTimeoutMs: this.#requestTimeoutMs,
        traffic: this.#traffic,
      });
    }).then(
      (conn) => {
        this.#handshaking.delete(ws);
        this.#adopt(conn);
      },
      (err: unknown) => {
        this.#handshaking.delete(ws);
        terminateWhenFlushed(ws);
        if (err instanceof HandshakeError) {
          // One warning per connection this daemon refused; a dialler giving up is not worth one.
          const sent = err.closedBy === 'us';
          const line = `refused ${remoteAddress}: ${err.code} ${err.message}${err.closeCode !== undefined ? ` (${err.closeCode})` : ''}`;
          if (sent && this.#state === 'running') this.#connLog.warn(line);
          else this.#connLog.debug(line);
        } else {
          this.#connLog.error(`handshake with ${remoteAddress} failed: ${String(err)}`);
        }
      },
    );
  }

  #adopt(conn: Connection): void {
    if (this.#state !== 'running') {
      conn.close(CloseCode.GOING_AWAY, 'peer stopping');
      return;
    }
    let set = this.#conns.get(conn.remoteId);
    if (set === undefined) this.#conns.set(conn.remoteId, (set = new Set()));
    set.add(conn);
    this.#connLog.debug(`${conn.direction} ${conn.role} ${conn.remoteId} authenticated (${conn.remoteAddress})`);
    conn.onMessage((msg) => this.#dispatch(msg, conn));
    conn.onClose((code, reason) => {
      const s = this.#conns.get(conn.remoteId);
      s?.delete(conn);
      if (s?.size === 0) this.#conns.delete(conn.remoteId);
      this.#connLog.debug(`${conn.role} ${conn.remoteId} (${conn.remoteAddress}) closed: ${code}${reason ? ` ${reason}` : ''}`);
      if (conn.role === 'peer' && this.#state === 'running' && conn.remoteId !== this.id) this.membership.connectionLost(conn.remoteId);
    });
    this.emit('connection', conn);
  }

  /** An open connection to peer `id` (never a client's, even if a client chose the same id). */
  #openConnection(id: string): Connection | undefined {
    const set = this.#conns.get(id);
    if (set === undefined) return undefined;
    for (const c of set) if (c.isOpen && c.role === 'peer') return c;
    return undefined;
  }

  #connectTo(id: string, url: string, timeoutMs: number): Promise<Connection> {
    const open = this.#openConnection(id);
    if (open !== undefined) return Promise.resolve(open);
    const inflight = this.#dialing.get(id);
    if (inflight !== undefined) return inflight;
    const p = this.#dial(url, timeoutMs).then((conn) => {
      if (conn.remoteId !== id) {
        conn.close(CloseCode.NORMAL, 'wrong peer');
        throw new UnknownPeerError(`dialled peer ${id} at ${url} but reached peer ${conn.remoteId}`);
      }
      return conn;
    });
    this.#dialing.set(id, p);
    const clear = (): void => {
      if (this.#dialing.get(id) === p) this.#dialing.delete(id);
    };
    p.then(clear, clear);
    return p;
  }

  async #dial(url: string, timeoutMs: number): Promise<Connection> {
    if (this.#state !== 'running') throw new PeerControllerStateError(`Not running. Current state: ${this.#state}`);
    const conn = await connect(url, {
      swarmKey: this.#swarmKey,
      role: 'peer',
      identity: this.#identity,
      url: this.url,
      timeoutMs,
      maxFrameBytes: this.#maxFrameBytes,
      maxBufferedBytes: this.#maxBufferedBytes,
      requestTimeoutMs: this.#requestTimeoutMs,
      log: this.#connLog,
      traffic: this.#traffic,
    });
    this.#adopt(conn);
    return conn;
  }

  // ---- dispatch ----

  #dispatch(msg: Message, conn: Connection): void {
    if (conn.role === 'peer' && conn.remoteId !== this.id) this.membership.heard(conn.remoteId, conn);
    const entry = this.#handlers.get(msg.t);
    const requestId = 'id' in msg && typeof msg.id === 'number' ? msg.id : undefined;
    if (entry === undefined) {
      // A peer joins the swarm before its components register their tables (the virtual-computer layer attaches
      // right after start): a one-way message that races them waits for its handler instead of being lost.
      if (requestId === undefined && Date.now() < this.#earlyUntil && this.#early.length < MAX_EARLY_MESSAGES) {
        this.#early.push({ msg, conn });
        return;
      }
      if (requestId !== undefined) {
        conn.send({ t: 'error', re: requestId, code: ErrorCode.NO_HANDLER, message: `peer ${this.id} has no handler for '${msg.t}'` });
      } else {
        this.#connLog.debug(`dropped '${msg.t}' from ${conn.toString()}: no handler`);
      }
      return;
    }
    const peer = conn.role === 'peer' ? entry.peer : undefined;
    const client = conn.role === 'client' ? entry.client : undefined;
    if (peer === undefined && client === undefined) {
      const roles = (['peer', 'client'] as const).filter((r) => entry[r] !== undefined);
      // Thrown into the Connection, which logs one line and closes with 4403.
      throw new ProtocolError('ERR_FORBIDDEN_FOR_ROLE', `'${msg.t}' may only be sent by ${roles.join(' or ')} connections, not by a ${conn.role}`);
    }
    const reply = (r: ReplyInput | void): void => {
      if (r === undefined) return;
      if (requestId === undefined) {
        this.log.error(`handler for '${msg.t}' returned a '${r.t}' reply, but '${msg.t}' is not a request; dropped`);
        return;
      }
      try {
        if (conn.isOpen) conn.send({ ...r, re: requestId } as Message);
      } catch (err) {
        fail(err); // e.g. a reply larger than the maximum frame size: the requester gets an error instead
      }
    };
    const fail = (err: unknown): void => {
      const e = err as { code?: unknown; message?: unknown; stack?: unknown };
      const { code, message } = errorReplyOf(err);
      if (requestId !== undefined && conn.isOpen) {
        this.log.debug(`'${msg.t}' from ${conn.toString()} failed: ${code} ${message}`);
        conn.send({ t: 'error', re: requestId, code: code.slice(0, 128), message: message.slice(0, 16_384) });
      } else if (requestId === undefined && typeof e?.code === 'string') {
        this.#refusals.log(`${msg.t} ${code}`, `refused '${msg.t}' from ${conn.toString()}: ${code} ${message}`);
      } else if (requestId === undefined) {
        this.log.error(`handler for '${msg.t}' from ${conn.toString()} threw: ${typeof e?.stack === 'string' ? e.stack : message}`);
      }
    };
    try {
      const r = peer !== undefined ? peer(msg, conn, conn) : client!(msg, conn);
      if (r instanceof Promise) r.then(reply, fail);
      else reply(r);
    } catch (err) {
      fail(err);
    }
  }
}

function checkOptions(opts: PeerControllerOptions): void {
  checkSwarmKey(opts.swarmKey);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new OptionError(`options.port must be an integer from 0 to 65535, got ${String(opts.port)}`);
  }
  // 0 slots: a controller that hosts deployers for local applications but runs no threads.
  if (opts.slots !== undefined && (!Number.isInteger(opts.slots) || opts.slots < 0)) {
    throw new OptionError(`options.slots must be a non-negative integer, got ${String(opts.slots)}`);
  }
  if (opts.logLevel !== undefined && !isLogLevel(opts.logLevel)) {
    throw new OptionError(`options.logLevel must be one of debug, info, warn, error, silent; got ${String(opts.logLevel)}`);
  }
  for (const u of opts.join ?? []) {
    if (!/^wss?:\/\/[^\s]+$/.test(u)) throw new OptionError(`options.join must hold ws:// or wss:// URLs, got '${u}'`);
  }
  if (opts.maxFrameBytes !== undefined && (!Number.isInteger(opts.maxFrameBytes) || opts.maxFrameBytes < 1024)) {
    throw new OptionError(`options.maxFrameBytes must be an integer >= 1024, got ${String(opts.maxFrameBytes)}`);
  }
  for (const k of ['maxConnections', 'maxPendingPerAddress', 'maxBufferedBytes', 'handshakeTimeoutMs'] as const) {
    const v = opts[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new OptionError(`options.${k} must be a positive integer, got ${String(v)}`);
  }
}

/**
 * Creates `dir` and its missing parents, one mkdir per missing component (`mkdirSync`'s recursive mode loops forever
 * where a filesystem answers ENOENT for a parent that exists, as /proc does), and checks that a file can be written
 * in it; or throws an OptionError naming `what` (the option or flag), the path and the fix. Never retries.
 */
export function prepareDataDir(dir: string, what = 'options.dataDir'): void {
  const fail = (why: string, code?: string): OptionError =>
    new OptionError(`${what} ${dir}: ${why}${code === undefined ? '' : ` (${code})`}; pass a directory this process can write to, or leave ${what} out for a temporary one`);
  const missing: string[] = [];
  for (let p = resolvePath(dir); ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) {
        missing.unshift(p);
        continue;
      }
      throw fail(`cannot look at ${p}`, code);
    }
    if (!isDir) throw fail(`${p} is a file, not a directory`);
    break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw fail(`cannot create the directory ${p}`, code);
    }
  }
  const probe = joinPath(dir, `.ppp2p-write-probe-${process.pid}`);
  try {
    accessSync(dir, fsConstants.W_OK);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    throw fail('cannot write in it', (err as NodeJS.ErrnoException).code);
  }
}

/** The host part of the advertised URL: a routable address when listening on all interfaces. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return '127.0.0.1';
  }
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * V8 settings for a process whose main job is to be a daemon (`ppp2p peer`, an embedded swarm's child): called by
 * those entry points before the peer starts, never by the library (it changes the whole process).
 *
 * The interrupt budget is how much bytecode a function runs between V8's checks of whether to optimize it. At the
 * default (66 KB of bytecode per check, several checks) the code on a message's path, which runs once per message,
 * stays in the slower tiers for the first few thousand messages of a daemon: a ping-pong's one-way latency was
 * 0.42-0.77 ms over round trips 500-1,500 and 0.25 ms once warm (BENCHMARKS.md, issue 5). A quarter of it gets
 * there sooner; hot loops of thread code, which reach the checks within microseconds anyway, measured the same
 * with and without it (bench:transform, kernel and TSP island). `setFlagsFromString` ignores a flag a future V8
 * no longer has, where a command-line flag would stop node from starting.
 */
export function tuneDaemonProcess(): void {
  setFlagsFromString(`--interrupt-budget=${DAEMON_INTERRUPT_BUDGET}`);
}

/** Bytes of bytecode between optimization checks in a daemon: a quarter of V8 11's default of 67,584. */
export const DAEMON_INTERRUPT_BUDGET = 16_896;
