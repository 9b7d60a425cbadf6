/**
 * The participation manager (paper's name): joins the swarm through any listed peer, learns every other peer
 * by gossip, and detects failures SWIM-style (Das et al., "SWIM", 2002, with Lifeguard's "buddy" rule).
 *
 * Protocol, per member:
 * - Every `probeIntervalMs` probe the next member of a shuffled round-robin list: `ping` → `ack` within
 *   `pingTimeoutMs`; else `ping-req` through `indirectProbes` other members, who ping it for us; if no ack
 *   arrives within `indirectTimeoutMs` the member becomes *suspect*.
 * - A connection to a member that closes unexpectedly triggers the same probe at once (on loopback a killed
 *   process's sockets close immediately; across machines the periodic probes find it).
 * - A suspect that stays suspect for `suspicionTimeoutMs` is declared *dead*. A member that hears it is
 *   suspected (or dead) raises its incarnation number and gossips `alive`, which overrides the suspicion:
 *   a slow peer refutes. Only the member itself ever raises its incarnation.
 * - Membership changes are disseminated twice: pushed at once to `gossipFanout` random members (each of
 *   whom pushes what is new to it further — an epidemic), and piggybacked on pings and acks a few times
 *   (λ·log2 n) to repair what the push missed. A suspicion is also sent to the suspect itself.
 * - An idle swarm sends only `{t:'ping',id}` / `{t:'ack',re}` (~20 bytes each).
 *
 * Precedence of updates about one member (SWIM): alive(i) beats suspect(j) iff i > j; suspect(i) beats alive(j)
 * iff i >= j; dead(i) beats alive/suspect(j) iff i >= j; among alive at equal incarnation the higher metadata
 * version `mv` wins (free-slot changes). Dead members are kept as tombstones for `deadRetentionMs`.
 */
import { EventEmitter } from 'node:events';
import type { Connection } from '../../protocol/connection.ts';
import { CloseCode, OptionError } from '../../protocol/errors.ts';
import type { Logger } from '../../protocol/log.ts';
import type { MemberRecord, Message, MessageOf, PeerInfo, ReplyInput } from '../../protocol/messages.ts';
import type { HandlerTable, Sender } from '../message-handlers.ts';

export type { MemberRecord, PeerInfo } from '../../protocol/messages.ts';
export type MemberState = PeerInfo['state'];

/** Timing and fan-out knobs. The defaults detect a killed peer on loopback in well under 1.5 s. */
export interface ParticipationOptions {
  /** Time between two probes started by this member. @default 200 */
  probeIntervalMs: number;
  /** Time for a direct ping to be acked (connecting included, though a slow connect goes on in the background). @default 150 */
  pingTimeoutMs: number;
  /** Time a new connection to a member may take (open and handshake). @default 3000 */
  connectTimeoutMs: number;
  /** Members asked to ping a target that did not answer us. @default 3 */
  indirectProbes: number;
  /** Time to wait for an indirect ack. @default 400 */
  indirectTimeoutMs: number;
  /** Time a suspect has to refute before it is declared dead. @default 750 */
  suspicionTimeoutMs: number;
  /** Members a new membership fact is pushed to at once. @default 3 */
  gossipFanout: number;
  /** A change of this peer's free slots is pushed to `gossipFanout` members at most this often (and piggybacked always). @default 100 */
  metadataPushIntervalMs: number;
  /** Updates piggybacked on one ping or ack at most. @default 8 */
  maxPiggyback: number;
  /** λ in the retransmission limit λ·ceil(log2(n+1)). @default 3 */
  retransmitMult: number;
  /** How long a dead member is remembered (so stale gossip cannot resurrect it). @default 60000 */
  deadRetentionMs: number;
  /** While alone (or a listed seed is not a live member), try joining the seeds this often. @default 2000 */
  rejoinIntervalMs: number;
  /** Time for one join request (connecting included). @default 3000 */
  joinTimeoutMs: number;
}

export const DEFAULT_PARTICIPATION_OPTIONS: Readonly<ParticipationOptions> = Object.freeze({
  probeIntervalMs: 200,
  pingTimeoutMs: 150,
  connectTimeoutMs: 3000,
  indirectProbes: 3,
  indirectTimeoutMs: 400,
  suspicionTimeoutMs: 750,
  gossipFanout: 3,
  metadataPushIntervalMs: 100,
  maxPiggyback: 8,
  retransmitMult: 3,
  deadRetentionMs: 60_000,
  rejoinIntervalMs: 2000,
  joinTimeoutMs: 3000,
});

/** What the participation manager needs from the daemon: connections. @internal */
export interface MembershipTransport {
  /** An open connection to a member (an existing one in either direction, or a new one to `url`). */
  connectToMember(id: string, url: string, timeoutMs: number): Promise<Connection>;
  /** A new connection to a URL whose peer id is not known yet (seeds). */
  dial(url: string, timeoutMs: number): Promise<Connection>;
  /** Whether an open connection to the member exists. */
  hasConnection(id: string): boolean;
  /** Closes every connection to a member (it was declared dead). */
  closeConnections(id: string, code: number, reason: string): void;
}

export interface MembershipEvents {
  /** A member joined (or came back after being declared dead). */
  'peer-alive': [PeerInfo];
  /** A member is suspected of having failed; it stays a member until declared dead. */
  'peer-suspect': [PeerInfo];
  /** A member was declared dead (or left). */
  'peer-dead': [PeerInfo];
  /** A member's advertised data changed (free slots), or it refuted a suspicion. */
  'peer-update': [PeerInfo];
  /**
   * Another member held this very peer suspect or dead (it was frozen, partitioned or slow), and this peer refuted.
   * Who held it dead may have dropped what it ran for this peer: owners check their placements.
   */
  'self-refuted': [{ state: 'suspect' | 'dead'; by: string }];
}

interface Member {
  rec: MemberRecord;
  lastHeard: number;
  suspectTimer?: NodeJS.Timeout;
  deadAt?: number;
}

export interface SelfDescription {
  id: string;
  url: string;
  slots: number;
  freeSlots: number;
  speed: number;
}

const DEAD_NOTICE_INTERVAL_MS = 1000;
/**
 * Bounds of incarnation numbers from the wire. A member's incarnation grows by one per refutation, so it never
 * comes near 2^40, and no honest update raises a known one by 2^20 at once. Updates beyond either bound are
 * ignored (with one warning per sender): a refutation (`inc + 1`) therefore never leaves the safe integers, and
 * one gossip frame cannot push a member to an incarnation it cannot refute.
 */
export const MAX_INCARNATION = 2 ** 40;
export const MAX_INCARNATION_JUMP = 2 ** 20;

export class ParticipationManager extends EventEmitter<MembershipEvents> {
  readonly options: Readonly<ParticipationOptions>;
  readonly selfId: string;
  #self: MemberRecord;
  #members = new Map<string, Member>();
  #transport: MembershipTransport;
  #log: Logger;
  #seeds: string[];
  /** Seed URL → the peer id that answered there. */
  #seedIds = new Map<string, string>();
  /** Newest update per member still to piggyback, and how often it has been sent. */
  #broadcasts = new Map<string, { rec: MemberRecord; sent: number }>();
  /** Updates to push eagerly, per target, flushed in one `gossip` message per target. */
  #pushes = new Map<string, MemberRecord[]>();
  #pushScheduled = false;
  #probeOrder: string[] = [];
  #probeIndex = 0;
  #probing = new Set<string>();
  #deadNoticeSent = new Map<string, number>();
  /** Senders already warned about an out-of-bounds incarnation. */
  #warnedIncarnation = new Set<string>();
  #probeTimer: NodeJS.Timeout | undefined;
  #rejoinTimer: NodeJS.Timeout | undefined;
  #joining = false;
  #running = false;
  #metadataPush: NodeJS.Timeout | undefined;
  #lastMetadataPush = 0;

  /** @internal Created by the PeerController. */
  constructor(self: SelfDescription, seeds: readonly string[], transport: MembershipTransport, log: Logger, options: Partial<ParticipationOptions> = {}) {
    super();
    this.options = Object.freeze({ ...DEFAULT_PARTICIPATION_OPTIONS, ...options });
    for (const [k, v] of Object.entries(this.options)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new OptionError(`membership.${k} must be a non-negative number, got ${String(v)}`);
    }
    this.selfId = self.id;
    this.#self = { id: self.id, url: self.url, inc: 0, state: 'alive', slots: self.slots, free: self.freeSlots, speed: self.speed, mv: 0 };
    this.#transport = transport;
    this.#log = log;
    this.#seeds = seeds.filter((u) => u !== self.url);
  }

  /** Membership updates still to be piggybacked (0 once the swarm is idle). */
  get pendingUpdates(): number {
    return this.#broadcasts.size;
  }

  /** This peer's current incarnation number. */
  get incarnation(): number {
    return this.#self.inc;
  }

  /**
   * Every known member. By default this peer itself (first) and the members alive or suspect; pass
   * `{ includeDead: true }` for tombstones of dead ones too, `{ includeSelf: false }` for others only.
   */
  peers({ includeSelf = true, includeDead = false }: { includeSelf?: boolean; includeDead?: boolean } = {}): PeerInfo[] {
    const out: PeerInfo[] = includeSelf ? [this.#info(this.#self, Date.now())] : [];
    for (const m of this.#members.values()) {
      if (includeDead || m.rec.state !== 'dead') out.push(this.#info(m.rec, m.lastHeard));
    }
    return out;
  }

  /** One member (or this peer) by id, dead ones included; undefined if unknown. */
  peer(id: string): PeerInfo | undefined {
    if (id === this.selfId) return this.#info(this.#self, Date.now());
    const m = this.#members.get(id);
    return m === undefined ? undefined : this.#info(m.rec, m.lastHeard);
  }

  /** Advertises a new number of free slots (carried by gossip; coalesced when it changes quickly). */
  setFreeSlots(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new OptionError(`free slots must be a non-negative integer, got ${String(n)}`);
    if (n === this.#self.free) return;
    this.#self = { ...this.#self, free: n, mv: this.#self.mv + 1 };
    this.#enqueue(this.#self);
    // Deployers look for free slots: push the change soon, but coalesce bursts into one push per interval.
    if (this.#metadataPush === undefined && this.#running) {
      const wait = Math.max(0, this.#lastMetadataPush + this.options.metadataPushIntervalMs - Date.now());
      this.#metadataPush = setTimeout(() => {
        this.#metadataPush = undefined;
        this.#lastMetadataPush = Date.now();
        if (this.#running) this.#spread(this.#self, this.selfId, true);
      }, wait);
      this.#metadataPush.unref();
    }
  }

  /** Starts probing and joins through the seeds (resolves once a first join attempt round is over). */
  async start(): Promise<void> {
    this.#running = true;
    this.#probeTimer = setInterval(() => this.#probeNext(), this.options.probeIntervalMs);
    this.#probeTimer.unref();
    if (this.#seeds.length > 0) {
      this.#rejoinTimer = setInterval(() => void this.#rejoin(), this.options.rejoinIntervalMs);
      this.#rejoinTimer.unref();
      await this.#rejoin(true);
    }
  }

  /** Stops probing and tells every live member that this peer leaves (best effort, bounded by `timeoutMs`). */
  async stop(timeoutMs = 300): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#probeTimer);
    clearInterval(this.#rejoinTimer);
    clearTimeout(this.#metadataPush);
    for (const m of this.#members.values()) clearTimeout(m.suspectTimer);
    const leave: MemberRecord = { ...this.#self, state: 'dead' };
    const targets = [...this.#members.values()].filter((m) => m.rec.state !== 'dead');
    await Promise.race([
      Promise.allSettled(
        targets.map(async (m) => {
          trySend(await this.#transport.connectToMember(m.rec.id, m.rec.url, timeoutMs), { t: 'gossip', g: [leave] });
        }),
      ),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }

  // ---- message handlers (registered by the PeerController; peers only) ----

  /** The membership protocol's handler table: join, ping, ping-req and gossip, from peers. */
  handlers(): HandlerTable {
    return {
      join: { peer: (msg, from) => this.onJoin(msg, from) },
      ping: { peer: (msg, from) => this.onPing(msg, from) },
      'ping-req': { peer: (msg, from) => this.onPingReq(msg, from) },
      gossip: { peer: (msg, from) => this.onGossip(msg, from) },
    };
  }

  /** A new peer joins through us: adopt it, spread the news, answer with everything we know. */
  onJoin(msg: MessageOf<'join'>, from: Sender): ReplyInput {
    this.#merge(msg.member, from.remoteId, true);
    this.heard(msg.member.id);
    const members = [this.#self, ...[...this.#members.values()].map((m) => m.rec).filter((r) => r.id !== msg.member.id || r.state !== 'alive')];
    return { t: 'join-reply', members };
  }

  onPing(msg: MessageOf<'ping'>, from: Sender): ReplyInput {
    if (msg.g !== undefined) this.#mergeAll(msg.g, from.remoteId);
    const g = this.#piggyback(from.remoteId);
    return g === undefined ? { t: 'ack' } : { t: 'ack', g };
  }

  async onPingReq(msg: MessageOf<'ping-req'>, from: Sender): Promise<ReplyInput> {
    if (msg.g !== undefined) this.#mergeAll(msg.g, from.remoteId);
    const target = this.#members.get(msg.target);
    if (target === undefined || msg.target === this.selfId) return { t: msg.target === this.selfId ? 'ack' : 'nack' };
    return (await this.#directPing(target.rec.id, this.options.pingTimeoutMs)) ? { t: 'ack' } : { t: 'nack' };
  }

  onGossip(msg: MessageOf<'gossip'>, from: Sender): void {
    this.#mergeAll(msg.g, from.remoteId);
  }

  /** A message arrived from peer `id`: it is alive now. A peer we hold dead is told so, so it can refute. */
  heard(id: string, conn?: Connection): void {
    const m = this.#members.get(id);
    if (m === undefined) return;
    m.lastHeard = Date.now();
    if (m.rec.state === 'dead' && conn !== undefined && conn.isOpen) {
      const last = this.#deadNoticeSent.get(id) ?? 0;
      if (m.lastHeard - last >= DEAD_NOTICE_INTERVAL_MS) {
        this.#deadNoticeSent.set(id, m.lastHeard);
        trySend(conn, { t: 'gossip', g: [m.rec] });
      }
    }
  }

  /** A connection to peer `id` closed. Unless another one is open, probe the peer at once. */
  connectionLost(id: string): void {
    const m = this.#members.get(id);
    if (!this.#running || m === undefined || m.rec.state === 'dead' || this.#transport.hasConnection(id)) return;
    this.#log.debug(`connection to ${id} lost; probing it now`);
    void this.#probe(id);
  }

  // ---- joining ----

  async #rejoin(first = false): Promise<void> {
    if (!this.#running || this.#joining) return;
    const alone = ![...this.#members.values()].some((m) => m.rec.state !== 'dead');
    const pending = this.#seeds.filter((url) => {
      const id = this.#seedIds.get(url);
      return alone || id === undefined || this.#members.get(id)?.rec.state !== 'alive';
    });
    if (pending.length === 0) return;
    this.#joining = true;
    try {
      const results = await Promise.allSettled(pending.map((url) => this.#joinThrough(url)));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      if (first || alone) {
        if (ok > 0) this.#log.info(`joined through ${ok} of ${pending.length} seed(s); ${this.peers({ includeSelf: false }).length} other peer(s) known`);
        else {
          const why = results.map((r, i) => (r.status === 'rejected' ? `${pending[i]}: ${(r.reason as Error).message}` : '')).filter(Boolean);
          (first ? this.#log.warn : this.#log.debug).call(this.#log, `could not join yet (retrying every ${this.options.rejoinIntervalMs} ms): ${why.join('; ')}`);
        }
      }
    } finally {
      this.#joining = false;
    }
  }

  async #joinThrough(url: string): Promise<void> {
    const conn = await this.#transport.dial(url, this.options.joinTimeoutMs);
    if (conn.remoteId === this.selfId) {
      conn.close(1000, 'that is me');
      this.#seeds = this.#seeds.filter((u) => u !== url);
      return;
    }
    const reply = await conn.request({ t: 'join', member: this.#self }, this.options.joinTimeoutMs);
    this.#seedIds.set(url, conn.remoteId);
    // What a seed already knows is no news to anyone else: merge without disseminating.
    for (const rec of reply.members) this.#merge(rec, conn.remoteId, false);
    this.heard(conn.remoteId);
  }

  // ---- failure detection ----

  #probeNext(): void {
    if (!this.#running) return;
    this.#expireTombstones();
    if (this.#probeIndex >= this.#probeOrder.length) {
      this.#probeOrder = shuffle([...this.#members.values()].filter((m) => m.rec.state !== 'dead').map((m) => m.rec.id));
      this.#probeIndex = 0;
    }
    while (this.#probeIndex < this.#probeOrder.length) {
      const id = this.#probeOrder[this.#probeIndex++]!;
      const m = this.#members.get(id);
      if (m !== undefined && m.rec.state !== 'dead') {
        void this.#probe(id);
        return;
      }
    }
  }

  async #probe(id: string): Promise<void> {
    if (this.#probing.has(id)) return;
    const startInc = this.#members.get(id)?.rec.inc;
    this.#probing.add(id);
    try {
      if (await this.#directPing(id, this.options.pingTimeoutMs)) return;
      if (!this.#running) return;
      if (await this.#indirectPing(id)) return;
      const m = this.#members.get(id);
      if (!this.#running || m === undefined || m.rec.state !== 'alive' || m.rec.inc !== startInc) return;
      this.#log.info(`peer ${id} suspected: no ack, directly or through others`);
      this.#merge({ ...m.rec, state: 'suspect' }, this.selfId, true);
    } finally {
      this.#probing.delete(id);
    }
  }

  async #directPing(id: string, timeoutMs: number): Promise<boolean> {
    const m = this.#members.get(id);
    if (m === undefined) return false;
    const started = Date.now();
    try {
      // A slow connect is not a failed ping: it goes on (and is cached) while this probe gives up.
      const conn = await withTimeout(this.#transport.connectToMember(id, m.rec.url, this.options.connectTimeoutMs), timeoutMs);
      const g = this.#piggyback(id);
      const reply = await conn.request(g === undefined ? { t: 'ping' } : { t: 'ping', g }, Math.max(1, timeoutMs - (Date.now() - started)));
      if (reply.g !== undefined) this.#mergeAll(reply.g, id);
      this.heard(id);
      return true;
    } catch {
      return false;
    }
  }

  async #indirectPing(id: string): Promise<boolean> {
    const helpers = shuffle([...this.#members.values()].filter((m) => m.rec.state === 'alive' && m.rec.id !== id)).slice(0, this.options.indirectProbes);
    if (helpers.length === 0) return false;
    const timeoutMs = this.options.indirectTimeoutMs;
    return new Promise<boolean>((resolve) => {
      let left = helpers.length;
      const one = (ok: boolean): void => {
        if (ok) resolve(true);
        else if (--left === 0) resolve(false);
      };
      for (const h of helpers) {
        const started = Date.now();
        withTimeout(this.#transport.connectToMember(h.rec.id, h.rec.url, this.options.connectTimeoutMs), timeoutMs)
          .then((conn) => conn.request({ t: 'ping-req', target: id }, Math.max(1, timeoutMs - (Date.now() - started))))
          .then(
            (reply) => {
              if (reply.t === 'ack') {
                const m = this.#members.get(id);
                if (m !== undefined) m.lastHeard = Date.now();
              }
              one(reply.t === 'ack');
            },
            () => one(false),
          );
      }
    });
  }

  #startSuspicion(m: Member): void {
    clearTimeout(m.suspectTimer);
    const inc = m.rec.inc;
    m.suspectTimer = setTimeout(() => {
      m.suspectTimer = undefined;
      if (!this.#running || m.rec.state !== 'suspect' || m.rec.inc !== inc) return;
      this.#merge({ ...m.rec, state: 'dead' }, this.selfId, true);
    }, this.options.suspicionTimeoutMs);
    m.suspectTimer.unref();
  }

  #expireTombstones(): void {
    const now = Date.now();
    for (const [id, m] of this.#members) {
      if (m.rec.state === 'dead' && m.deadAt !== undefined && now - m.deadAt > this.options.deadRetentionMs) {
        this.#members.delete(id);
        this.#deadNoticeSent.delete(id);
      }
    }
  }

  // ---- membership updates ----

  #mergeAll(updates: readonly MemberRecord[], from: string): void {
    for (const u of updates) this.#merge(u, from, true);
  }

  /**
   * Applies one update about a member (the SWIM precedence rules above). `from` is who told us; with
   * `disseminate`, news is pushed on and piggybacked. Returns whether the update was news.
   */
  #merge(u: MemberRecord, from: string, disseminate: boolean): boolean {
    // Incarnations from the wire are bounded: a huge one could never be refuted (or overflow when it is).
    const known = u.id === this.selfId ? this.#self.inc : this.#members.get(u.id)?.rec.inc;
    if (u.inc > MAX_INCARNATION || (known !== undefined && u.inc > known + MAX_INCARNATION_JUMP)) {
      this.#ignoredIncarnation(u, from, known);
      return false;
    }
    if (u.id === this.selfId) return this.#aboutMe(u, from);
    const m = this.#members.get(u.id);
    if (m === undefined) {
      const member: Member = { rec: { ...u }, lastHeard: 0 };
      this.#members.set(u.id, member);
      if (u.state === 'dead') {
        member.deadAt = Date.now();
        return false;
      }
      this.#probeOrder.splice(Math.floor(Math.random() * (this.#probeOrder.length - this.#probeIndex + 1)) + this.#probeIndex, 0, u.id);
      if (u.state === 'suspect') this.#startSuspicion(member);
      // Members copied from a seed's join-reply are summed up in one line by #rejoin.
      (disseminate ? this.#log.info : this.#log.debug).call(this.#log, `peer ${u.id} joined${u.state === 'suspect' ? ' (suspect)' : ''}`, { url: u.url, slots: u.slots, speed: u.speed });
      if (disseminate) this.#spread(member.rec, from, true);
      this.emit('peer-alive', this.#info(member.rec, 0));
      if (u.state === 'suspect') this.emit('peer-suspect', this.#info(member.rec, 0));
      return true;
    }
    const cur = m.rec;
    switch (u.state) {
      case 'alive': {
        const newer = u.inc > cur.inc || (u.inc === cur.inc && cur.state === 'alive' && u.mv > cur.mv);
        if (!newer) return false;
        const was = cur.state;
        clearTimeout(m.suspectTimer);
        m.suspectTimer = undefined;
        m.rec = { ...u };
        m.deadAt = undefined;
        if (was === 'dead') {
          this.#probeOrder.push(u.id);
          this.#log.info(`peer ${u.id} is back (incarnation ${u.inc})`);
          if (disseminate) this.#spread(m.rec, from, true);
          this.emit('peer-alive', this.#info(m.rec, m.lastHeard));
        } else {
          if (was === 'suspect') this.#log.info(`peer ${u.id} refuted the suspicion (incarnation ${u.inc})`);
          // A new incarnation may clear suspicions elsewhere: push it. A metadata change only rides on pings.
          if (disseminate) this.#spread(m.rec, from, u.inc > cur.inc);
          this.emit('peer-update', this.#info(m.rec, m.lastHeard));
        }
        return true;
      }
      case 'suspect': {
        if (cur.state === 'dead' || !((cur.state === 'alive' && u.inc >= cur.inc) || (cur.state === 'suspect' && u.inc > cur.inc))) return false;
        m.rec = { ...cur, inc: u.inc, state: 'suspect' };
        this.#startSuspicion(m);
        if (from !== this.selfId) this.#log.info(`peer ${u.id} suspected by ${from}`);
        if (disseminate) this.#spread(m.rec, from, true, u.id);
        this.emit('peer-suspect', this.#info(m.rec, m.lastHeard));
        return true;
      }
      case 'dead': {
        if (cur.state === 'dead') {
          if (u.inc > cur.inc) m.rec = { ...cur, inc: u.inc };
          return false;
        }
        if (u.inc < cur.inc) return false;
        clearTimeout(m.suspectTimer);
        m.suspectTimer = undefined;
        m.rec = { ...cur, inc: u.inc, state: 'dead' };
        m.deadAt = Date.now();
        const how = from === u.id ? 'left' : from === this.selfId ? `declared dead (no refutation within ${this.options.suspicionTimeoutMs} ms)` : `declared dead by ${from}`;
        this.#log.info(`peer ${u.id} ${how}`);
        if (disseminate) this.#spread(m.rec, from, true);
        this.#transport.closeConnections(u.id, CloseCode.DECLARED_DEAD, 'declared dead');
        this.emit('peer-dead', this.#info(m.rec, m.lastHeard));
        return true;
      }
    }
  }

  /** One warning per sender (a bounded number of them) for updates with an out-of-bounds incarnation. */
  #ignoredIncarnation(u: MemberRecord, from: string, known: number | undefined): void {
    if (this.#warnedIncarnation.has(from)) return;
    if (this.#warnedIncarnation.size >= 1024) this.#warnedIncarnation.clear();
    this.#warnedIncarnation.add(from);
    this.#log.warn(
      `ignored gossip from ${from}: peer ${u.id} ${u.state} at incarnation ${u.inc}, ` +
        (known === undefined ? `above the bound ${MAX_INCARNATION}` : `more than ${MAX_INCARNATION_JUMP} above its known ${known} (or above ${MAX_INCARNATION})`),
    );
  }

  /** Gossip about this very peer: refute any suspicion or death by raising the incarnation. */
  #aboutMe(u: MemberRecord, from: string): boolean {
    if (!this.#running) return false;
    if (u.state === 'alive' ? u.inc <= this.#self.inc : u.inc < this.#self.inc) return false;
    // Refuting raises the incarnation to u.inc + 1, which must stay within the bound the others accept.
    if (u.inc >= MAX_INCARNATION) return false;
    const before = this.#self.inc;
    this.#self = { ...this.#self, inc: u.inc + 1, mv: this.#self.mv + 1 };
    this.#log.info(`refuting: ${from} says this peer is ${u.state} at incarnation ${u.inc}; now at incarnation ${this.#self.inc} (was ${before})`);
    this.#spread(this.#self, this.selfId, true, from);
    if (u.state !== 'alive') this.emit('self-refuted', { state: u.state, by: from });
    return true;
  }

  /** Piggybacks `rec`, and with `push` sends it at once to `gossipFanout` random members (plus `also`). */
  #spread(rec: MemberRecord, from: string, push: boolean, also?: string): void {
    this.#enqueue(rec);
    if (!push) return;
    const targets = shuffle([...this.#members.values()].filter((m) => m.rec.state !== 'dead' && m.rec.id !== from && m.rec.id !== rec.id))
      .slice(0, this.options.gossipFanout)
      .map((m) => m.rec.id);
    if (also !== undefined && also !== this.selfId && !targets.includes(also)) targets.push(also);
    for (const t of targets) {
      const list = this.#pushes.get(t);
      if (list === undefined) this.#pushes.set(t, [rec]);
      else list.push(rec);
    }
    if (!this.#pushScheduled && this.#pushes.size > 0) {
      this.#pushScheduled = true;
      setImmediate(() => this.#flushPushes());
    }
  }

  #flushPushes(): void {
    this.#pushScheduled = false;
    const pushes = this.#pushes;
    this.#pushes = new Map();
    if (!this.#running) return;
    for (const [id, recs] of pushes) {
      const m = this.#members.get(id);
      if (m === undefined) continue;
      // Only the newest record per member matters.
      const newest = new Map(recs.map((r) => [r.id, r]));
      this.#transport.connectToMember(id, m.rec.url, this.options.connectTimeoutMs).then(
        (conn) => trySend(conn, { t: 'gossip', g: [...newest.values()] }),
        () => {},
      );
    }
  }

  #enqueue(rec: MemberRecord): void {
    this.#broadcasts.set(rec.id, { rec, sent: 0 });
  }

  /** Up to `maxPiggyback` queued updates, least-sent first; plus the target's own suspicion (buddy rule). */
  #piggyback(target: string): MemberRecord[] | undefined {
    const out: MemberRecord[] = [];
    const t = this.#members.get(target);
    if (t !== undefined && t.rec.state !== 'alive') out.push(t.rec);
    if (this.#broadcasts.size > 0) {
      const limit = this.options.retransmitMult * Math.ceil(Math.log2(this.#members.size + 2));
      const entries = [...this.#broadcasts.values()].sort((a, b) => a.sent - b.sent).slice(0, this.options.maxPiggyback);
      for (const e of entries) {
        if (e.rec.id === target && e.rec.state !== 'alive') continue;
        // The self record may have changed since it was queued; always send the newest.
        const rec = e.rec.id === this.selfId ? this.#self : e.rec;
        out.push(rec);
        if (++e.sent >= limit) this.#broadcasts.delete(e.rec.id);
      }
    }
    return out.length === 0 ? undefined : out;
  }

  #info(rec: MemberRecord, lastHeard: number): PeerInfo {
    return { id: rec.id, url: rec.url, slots: rec.slots, freeSlots: rec.free, speed: rec.speed, lastHeard, state: rec.state, incarnation: rec.inc };
  }
}

/** `p`, or a rejection after `ms` (p itself goes on; its outcome is then ignored). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Membership messages are best effort: a connection that closed in the meantime is not an error. */
function trySend(conn: Connection, msg: Message): void {
  if (conn.isOpen) conn.send(msg);
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The speed score: a short calibrated CPU benchmark (integer mixing and float work, the kind of loop a
 * virtual thread runs), run for about `ms` milliseconds after a short warm-up. The score is the work done
 * per millisecond divided by 1,000: higher is faster, comparable between peers of one swarm.
 */
export function measureSpeed(ms = 100): number {
  const kernel = (n: number, seed: number): number => {
    let x = seed | 0;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      acc += Math.sqrt((x >>> 0) + i) * 1e-9;
    }
    return acc + x;
  };
  const batch = 20_000;
  // One short call first, so that the interpreter has seen the return's addition: otherwise the loop is compiled
  // on stack (OSR) before the return ever ran, and every later call left that code at the return with a deopt
  // (about 1,000 deopts in 100 ms, and a score that measured V8's deoptimizer).
  let sink = kernel(1, 7);
  const warm = performance.now() + Math.min(10, ms / 10);
  while (performance.now() < warm) sink += kernel(batch, 7);
  let done = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    sink += kernel(batch, done + 1);
    done += batch;
    now = performance.now();
  }
  if (sink === Number.MIN_VALUE) console.log(sink); // keeps the loop from being optimised away
  return Math.round(done / (now - start) / 1000) || 1;
}
