/**
 * Admission of inbound TCP connections, before HTTP and WebSocket see them:
 * - a cap on inbound sockets in total (`maxConnections`) and on unauthenticated ones per remote address
 *   (`maxPendingPerAddress`); a socket beyond either is destroyed at once, with a rate-limited log line. Without
 *   them, 400 connections at an fd limit of 300 made every new connection reset for ~85 s, silently.
 * - one deadline from TCP accept to a completed handshake (`handshakeTimeoutMs`), covering a client that never
 *   sends an HTTP upgrade or sends half of one (those held sockets 85-90 s).
 * Authenticated connections are never closed here; outbound connections are not counted.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../protocol/log.ts';
import { RateLimitedLog } from '../protocol/limits.ts';

/** Inbound sockets at once, authenticated or not. Below the usual soft fd limit of 1024 with room for files and dials. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Unauthenticated inbound sockets from one address at once (a NAT can hide several honest peers behind one). */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64;

export interface AdmissionOptions {
  maxConnections: number;
  maxPendingPerAddress: number;
  handshakeTimeoutMs: number;
}

interface Pending {
  address: string;
  deadline: number;
  timer: NodeJS.Timeout;
}

export class Admission {
  readonly #opts: AdmissionOptions;
  readonly #refusals: RateLimitedLog;
  #total = 0;
  #pendingByAddress = new Map<string, number>();
  /** By the TCP connection's remote address and port: on wss:// the socket HTTP sees is a TLSSocket, not the accepted one. */
  #pending = new Map<string, Pending>();
  /** The donor's address lists (usage-policy.ts): whether a remote address may connect at all. */
  addressAllowed: (address: string) => boolean = () => true;

  constructor(server: Server, opts: AdmissionOptions, log: Logger) {
    this.#opts = opts;
    this.#refusals = new RateLimitedLog((line) => log.warn(line));
    server.on('connection', (socket: Socket) => this.#admit(socket));
  }

  /** Unauthenticated sockets now (tests, status). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Inbound sockets now. */
  get total(): number {
    return this.#total;
  }

  /** Milliseconds this socket has left to authenticate (at least 1). */
  remainingMs(socket: Socket): number {
    const p = this.#pending.get(keyOf(socket));
    return p === undefined ? this.#opts.handshakeTimeoutMs : Math.max(1, p.deadline - Date.now());
  }

  /** The socket upgraded to WebSocket: the handshake's own timer (with a close code) takes over the deadline. */
  upgraded(socket: Socket): void {
    const p = this.#pending.get(keyOf(socket));
    if (p !== undefined) clearTimeout(p.timer);
  }

  /** The socket authenticated: it no longer counts against its address's pending limit. */
  authenticated(socket: Socket): void {
    const key = keyOf(socket);
    const p = this.#pending.get(key);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.#pending.delete(key);
    this.#release(p.address);
  }

  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const pendingHere = this.#pendingByAddress.get(address) ?? 0;
    if (!this.addressAllowed(address)) {
      this.#refusals.log(`blocked ${address}`, `refused a connection from ${address}: the usage policy does not allow this address (allowAddresses / blockAddresses)`);
      socket.destroy();
      return;
    }
    if (this.#total >= this.#opts.maxConnections) {
      this.#refusals.log('total', `refused a connection from ${address}: ${this.#total} inbound connections, the maximum (maxConnections)`);
      socket.destroy();
      return;
    }
    if (pendingHere >= this.#opts.maxPendingPerAddress) {
      this.#refusals.log(`address ${address}`, `refused a connection from ${address}: ${pendingHere} unauthenticated connections from it, the maximum (maxPendingPerAddress)`);
      socket.destroy();
      return;
    }
    this.#total++;
    this.#pendingByAddress.set(address, pendingHere + 1);
    const timer = setTimeout(() => {
      // No upgrade (raw TCP, half an HTTP request) within the deadline: nothing to say to it in WebSocket terms.
      this.#refusals.log('deadline', `dropped a connection from ${address}: no WebSocket upgrade within ${this.#opts.handshakeTimeoutMs} ms`);
      socket.destroy();
    }, this.#opts.handshakeTimeoutMs);
    timer.unref();
    const key = keyOf(socket);
    this.#pending.set(key, { address, deadline: Date.now() + this.#opts.handshakeTimeoutMs, timer });
    socket.once('close', () => {
      this.#total--;
      const p = this.#pending.get(key);
      if (p === undefined) return;
      clearTimeout(p.timer);
      this.#pending.delete(key);
      this.#release(p.address);
    });
  }

  #release(address: string): void {
    const n = (this.#pendingByAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.#pendingByAddress.delete(address);
    else this.#pendingByAddress.set(address, n);
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
