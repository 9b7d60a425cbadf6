/**
 * The message-passing protocol between peer unit proxies and mailboxes, in one process: two or three message
 * managers joined by a fake network that loses, repeats and reorders frames as a seeded schedule decides, and a
 * receiver that is placed again mid-run and resumes from an older cursor (as after a failure). Whatever the
 * network does, the receiving thread gets every message once, in order. Timers are fake: retransmissions and
 * retries happen without waiting.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageManager } from '../../../src/daemon/host/message-manager.ts';
import type { LocalThread } from '../../../src/daemon/host/local-thread.ts';
import type { PeerLinks } from '../../../src/daemon/peer-links.ts';
import type { Message, MessageType } from '../../../src/protocol/messages.ts';
import type { HandlerTable, PeerHandler } from '../../../src/daemon/message-handlers.ts';
import { createLogger } from '../../../src/protocol/log.ts';
import type { OutboxEntry } from '../../../src/runtime/thread-context.ts';
import type { Delivered, HostNotice } from '../../../src/runtime/worker-messages.ts';

const VC = 'vc-1';
const OWNER = 'owner';

interface Frame {
  from: string;
  to: string;
  msg: Message;
}

/** A network of fake peers: frames wait in one pool; the schedule picks which goes next, and whether it is lost or repeated. */
class FakeNetwork {
  readonly managers = new Map<string, MessageManager>();
  readonly tables = new Map<string, HandlerTable>();
  readonly pool: Frame[] = [];
  /** Where each thread runs, as the owner would answer thread-locate. */
  readonly placements = new Map<number, { epoch: number; state: 'running' | 'queued'; host?: string }>();
  /** Pairs of peers with no direct path (`A>B`): connecting fails, as through a firewall. */
  readonly blocked = new Set<string>();
  /** Frames delivered, by `from>to` and type. */
  readonly delivered = new Map<string, number>();
  #rand: () => number;
  readonly #loss: number;

  constructor(seed: number, loss: number) {
    let s = seed >>> 0 || 1;
    this.#rand = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
    this.#loss = loss;
  }

  peer(id: string): MessageManager {
    const send = (to: string, msg: Message): void => {
      this.pool.push({ from: id, to, msg });
    };
    const links = {
      selfId: id,
      send,
      request: async (peer: string, msg: { t: string; thread?: number }): Promise<Message> => {
        if (peer !== OWNER || msg.t !== 'thread-locate') throw new Error(`unexpected request ${msg.t} to ${peer}`);
        const p = this.placements.get(msg.thread!) ?? { epoch: 0, state: 'queued' as const };
        return { t: 'thread-locate-reply', re: 0, ...p } as Message;
      },
      connection: async (peer: string) => {
        if (this.blocked.has(`${id}>${peer}`)) throw new Error(`connect ECONNREFUSED (no route from ${id} to ${peer})`);
        return { isOpen: true, send: (msg: Message) => send(peer, msg) };
      },
    } as unknown as PeerLinks;
    // The owner forwards what is addressed to another peer; it needs to know it owns the virtual computer.
    const m = new MessageManager({ links, log: createLogger({ level: 'silent' }), owns: () => id === OWNER });
    this.managers.set(id, m);
    this.tables.set(id, m.handlers());
    return m;
  }

  /** Delivers (or loses, or repeats) one frame; false if none is waiting. */
  step(): boolean {
    if (this.pool.length === 0) return false;
    // Mostly in order (TCP-like), sometimes out of order.
    const i = this.#rand() < 0.2 ? Math.floor(this.#rand() * this.pool.length) : 0;
    const f = this.pool.splice(i, 1)[0]!;
    const r = this.#rand();
    if (r < this.#loss) return true;
    const deliver = (): void => {
      const m = this.managers.get(f.to);
      const k = `${f.from}>${f.to} ${f.msg.t}`;
      this.delivered.set(k, (this.delivered.get(k) ?? 0) + 1);
      if (m !== undefined) void this.#handle(f.to, f.msg, f.from);
    };
    deliver();
    if (r > 1 - this.#loss / 2) deliver();
    return true;
  }

  /** Runs the handler `to`'s message manager has for `msg`, as the peer's dispatch does for a message from `from`. */
  #handle(to: string, msg: Message, from: string): unknown {
    const handler = this.tables.get(to)?.[msg.t]?.peer as PeerHandler<MessageType> | undefined;
    return handler?.(msg, { remoteId: from, role: 'peer' }, undefined);
  }

  /** Tells every peer where `thread` runs now, as the owner's placement push does. */
  place(thread: number, epoch: number, host: string): void {
    this.placements.set(thread, { epoch, state: 'running', host });
    // The owner's own resolver learns placements from its deployer directly (it relays only from current hosts).
    this.managers.get(OWNER)?.resolver.update(VC, thread, { epoch, state: 'running', host });
    for (const id of this.managers.keys()) void this.#handle(id, { t: 'thread-placed', vc: VC, thread, epoch, state: 'running', host }, OWNER);
    void this.managers.get(host);
  }
}

/** The sender thread as its executor behaves: outbox, window, answers to outbox-resend. */
class SenderThread {
  readonly outbox: OutboxEntry[] = [];
  consumed = -1;
  local!: LocalThread;
  #lastSent = -1;

  constructor(readonly window: number) {}

  notify = (n: HostNotice): void => {
    if (n.kind === 'acked') this.consumed = Math.max(this.consumed, n.upTo);
    else if (n.kind === 'outbox-resend') {
      const entries = this.outbox.filter((e) => e.to === n.to && e.seq > n.after);
      queueMicrotask(() => this.local.events.onNotice!({ kind: 'resend', entries }));
    } else if (n.kind === 'outbox-trim') {
      const keep = this.outbox.filter((e) => e.to !== n.to || e.seq > n.upTo);
      this.outbox.splice(0, this.outbox.length, ...keep);
    }
  };

  /** Sends the next message if the window allows; seqs skip numbers, as other effects use them too. */
  trySend(seq: number, to: number): boolean {
    const unconsumed = this.outbox.filter((e) => e.seq > this.consumed).length;
    if (unconsumed >= this.window) return false;
    const entry: OutboxEntry = { to, seq, prev: this.#lastSent, bytes: new Uint8Array([seq & 255]) };
    this.#lastSent = seq;
    this.outbox.push(entry);
    this.local.events.onNotice!({ kind: 'send', entries: [entry] });
    return true;
  }
}

/** The receiving thread: receives in batches, drops what is at or below its cursor, as thread-messaging.ts does. */
class ReceiverThread {
  received: number[] = [];
  cursor = -1;
  local!: LocalThread;
  #pending: Promise<Delivered[]> | undefined;

  start(cursor: number, received: number[]): void {
    this.cursor = cursor;
    this.received = [...received];
    this.#pending = undefined;
    this.local.events.onNotice!({ kind: 'cursor', consumed: cursor < 0 ? {} : { 0: cursor } });
  }

  poll(): void {
    if (this.#pending !== undefined) return;
    const p = (this.local.events.onCall!({ kind: 'receive', max: 3 }) as Promise<Delivered[]>).then((batch) => {
      if (this.#pending !== p) return batch;
      this.#pending = undefined;
      for (const m of batch) {
        if (m.seq <= this.cursor) continue;
        this.cursor = m.seq;
        this.received.push(m.seq);
      }
      return batch;
    });
    p.catch(() => {});
    this.#pending = p;
  }
}

describe('message-passing protocol over a faulty network', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function run(
    seed: number,
    loss: number,
    n: number,
    window: number,
    mailbox: number,
    replaceAt: number | undefined,
    quiet = false,
  ): Promise<{ received: number[]; expected: number[] }> {
    const net = new FakeNetwork(seed, loss);
    const a = net.peer('A');
    const b = net.peer('B');
    const c = net.peer('C');
    const sender = new SenderThread(window);
    sender.local = a.threadStarted({ vc: VC, owner: OWNER, thread: 0, epoch: 1, token: new Uint8Array(16), mailboxSize: window, notify: sender.notify });
    sender.local.events.onNotice!({ kind: 'cursor', consumed: {} });
    const receiver = new ReceiverThread();
    receiver.local = b.threadStarted({ vc: VC, owner: OWNER, thread: 1, epoch: 1, token: new Uint8Array(16), mailboxSize: mailbox, notify: () => {} });
    net.place(0, 1, 'A'); // the owner publishes the sender's placement too: hosts take messages only from a thread's host
    net.place(1, 1, 'B');
    receiver.start(-1, []);
    const seqs = Array.from({ length: n }, (_, i) => i * 3 + (i % 2));
    let next = 0;
    let checkpoint = { cursor: -1, received: [] as number[] };
    let replaced = replaceAt === undefined;
    for (let tick = 0; tick < 200_000; tick++) {
      if (receiver.received.length === n) break;
      while (next < n && sender.trySend(seqs[next]!, 1)) next++;
      receiver.poll();
      if (tick % 7 === 0) checkpoint = { cursor: receiver.cursor, received: [...receiver.received] };
      if (!replaced && receiver.received.length >= replaceAt! && quiet) {
        // Let every ack arrive first: the sender's proxy then holds nothing unacknowledged.
        for (let i = 0; i < 100 && (net.pool.length > 0 || i < 3); i++) {
          while (net.step());
          await vi.advanceTimersByTimeAsync(1);
        }
      }
      if (!replaced && receiver.received.length >= replaceAt!) {
        // The receiver's peer dies; it resumes on C from its last checkpoint, which is behind what it received.
        replaced = true;
        receiver.local.end('stopped');
        net.placements.set(1, { epoch: 2, state: 'queued' });
        receiver.local = c.threadStarted({ vc: VC, owner: OWNER, thread: 1, epoch: 2, token: new Uint8Array(16), mailboxSize: mailbox, notify: () => {} });
        receiver.start(checkpoint.cursor, checkpoint.received);
        net.place(1, 2, 'C');
      }
      if (!net.step()) await vi.advanceTimersByTimeAsync(net.pool.length === 0 ? 50 : 1);
      else if (tick % 16 === 0) await vi.advanceTimersByTimeAsync(0);
    }
    for (const m of net.managers.values()) m.close();
    return { received: receiver.received, expected: seqs };
  }

  it('delivers every message once and in order over a perfect network', async () => {
    const { received, expected } = await run(1, 0, 200, 8, 4, undefined);
    expect(received).toEqual(expected);
  });

  it('delivers every message once and in order when frames are lost, repeated and reordered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(0.05, 0.2), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), async (seed, loss, window, mailbox) => {
        const { received, expected } = await run(seed, loss, 80, window, mailbox, undefined);
        expect(received).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it('re-sends what an idle sender had delivered to a receiver that resumes from an older cursor', async () => {
    // Replaced after 79 of 80: the sender sent everything long ago and sends nothing more.
    const { received, expected } = await run(7, 0, 80, 4, 4, 79, true);
    expect(received).toEqual(expected);
  });

  it('delivers every message once and in order when the receiver is placed again and resumes from an older cursor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(0, 0.1), fc.integer({ min: 10, max: 60 }), async (seed, loss, at) => {
        const { received, expected } = await run(seed, loss, 80, 4, 4, at);
        expect(received).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it('relays through the owner between peers that have no direct path, in order, once', async () => {
    const net = new FakeNetwork(3, 0);
    const a = net.peer('A');
    const b = net.peer('B');
    net.peer(OWNER);
    net.blocked.add('A>B').add('B>A');
    const sender = new SenderThread(4);
    sender.local = a.threadStarted({ vc: VC, owner: OWNER, thread: 0, epoch: 1, token: new Uint8Array(16), mailboxSize: 4, notify: sender.notify });
    const receiver = new ReceiverThread();
    receiver.local = b.threadStarted({ vc: VC, owner: OWNER, thread: 1, epoch: 1, token: new Uint8Array(16), mailboxSize: 4, notify: () => {} });
    net.place(0, 1, 'A'); // the owner publishes the sender's placement too: hosts take messages only from a thread's host
    net.place(1, 1, 'B');
    receiver.start(-1, []);
    const seqs = Array.from({ length: 40 }, (_, i) => i);
    let next = 0;
    for (let tick = 0; tick < 10_000 && receiver.received.length < seqs.length; tick++) {
      while (next < seqs.length && sender.trySend(seqs[next]!, 1)) next++;
      receiver.poll();
      if (!net.step()) await vi.advanceTimersByTimeAsync(1);
    }
    expect(receiver.received).toEqual(seqs);
    expect(net.delivered.get('A>B msg-deliver')).toBeUndefined();
    expect(net.delivered.get('A>owner msg-deliver')).toBeGreaterThan(0);
    expect(net.delivered.get('owner>B msg-deliver')).toBe(net.delivered.get('A>owner msg-deliver'));
    expect(net.delivered.get('owner>A msg-ack')).toBeGreaterThan(0);
    for (const m of net.managers.values()) m.close();
  });
});
