/**
 * The owner's side of message passing and globals, one per deployer: its global variable manager, the placement
 * publisher that feeds the address resolvers, and the answers to thread-locate and the globals requests.
 */
import type { Connection } from '../../protocol/connection.ts';
import type { Logger } from '../../protocol/log.ts';
import type { MessageOf, ReplyInput } from '../../protocol/messages.ts';
import { ThreadEffectError } from '../../runtime/errors.ts';
import { DEFAULT_MAILBOX_SIZE } from '../../runtime/thread-messaging.ts';
import type { AddressResolver, Placement } from '../host/address-resolver.ts';
import type { PeerUnitProxy } from '../host/peer-unit-proxy.ts';
import type { PeerLinks } from '../peer-links.ts';
import type { HandlerTable } from '../message-handlers.ts';
import { ForbiddenError, UnknownVirtualComputerError } from '../../protocol/errors.ts';
import { samePlacementToken } from '../placement-token.ts';
import { GlobalVariableManager, type GlobalsReply } from './global-variable-manager.ts';
import { PlacementPublisher } from './placement-publisher.ts';
import type { ThreadRecord } from './virtual-thread-delegator.ts';

/** What the owner's messaging uses of this peer's own message manager. */
export interface LocalMessaging {
  readonly resolver: Pick<AddressResolver, 'update' | 'forget'>;
  readonly proxy: Pick<PeerUnitProxy, 'forget'>;
  trim(vc: string, thread: number, cursor: Record<string, number>): void;
}

export interface DeployerMessagingInit {
  vc: string;
  links: PeerLinks;
  log: Logger;
  /** This peer's message manager (its resolver learns placements without a message). */
  manager: LocalMessaging | undefined;
  /** The application's connection, for globals-changed. */
  client: Connection;
  /** Enrolled workers: where placements are pushed. */
  workers(): Iterable<string>;
  /** The deployer's record of a live thread. */
  thread(n: number): ThreadRecord | undefined;
  /** Whether `peer` hosts a running thread of the virtual computer. */
  hosts(peer: string): boolean;
  /** Whether `host`'s peer is alive (or only suspected) in the membership. */
  peerAlive(host: string): boolean;
  mailboxSize?: number;
  lockLeaseMs?: number;
}

/**
 * What a deployer adds for message passing and globals: its global variable manager, the placement publisher
 * that feeds the address resolvers, and the handlers of thread-locate and the globals requests.
 */
export class DeployerMessaging {
  readonly globals: GlobalVariableManager;
  readonly placements: PlacementPublisher;
  readonly mailboxSize: number;
  readonly #init: DeployerMessagingInit;
  readonly #watched = new Set<string>();

  constructor(init: DeployerMessagingInit) {
    this.#init = init;
    this.mailboxSize = init.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    const manager = init.manager;
    this.placements = new PlacementPublisher({
      vc: init.vc,
      links: init.links,
      workers: init.workers,
      local: manager === undefined ? undefined : (thread, p) => manager.resolver.update(init.vc, thread, p),
    });
    this.globals = new GlobalVariableManager({
      vc: init.vc,
      log: init.log,
      leaseMs: init.lockLeaseMs,
      holderAlive: (thread, epoch) => {
        const t = init.thread(thread);
        return t !== undefined && t.state === 'running' && t.placements === epoch && t.host !== undefined && init.peerAlive(t.host);
      },
      changed: (name, value) => {
        if (!this.#watched.has(name) || !init.client.isOpen) return;
        try {
          init.client.send({ t: 'globals-changed', vc: init.vc, name, ...(value !== undefined ? { value } : {}) });
        } catch (err) {
          init.log.debug(`cannot send globals-changed to the application: ${(err as Error).message}`);
        }
      },
    });
  }

  /**
   * Whether `peer` takes part in this virtual computer: an enrolled worker, or the host of one of its threads (a
   * leaving worker still runs some). Only they may ask where its threads run.
   */
  member(peer: string): boolean {
    if (peer === this.#init.links.selfId) return true;
    for (const w of this.#init.workers()) if (w === peer) return true;
    return this.#init.hosts(peer);
  }

  /**
   * A finished thread's residual outbox comes from its last host only (before its result, so the thread still
   * runs there in the owner's record), with that placement's epoch and token.
   */
  fromHost(thread: number, epoch: number, token: Uint8Array, host: string): boolean {
    const t = this.#init.thread(thread);
    return t !== undefined && t.state === 'running' && t.host === host && t.placements === epoch && samePlacementToken(t.token, token);
  }

  /** Where a thread runs (thread-locate). */
  locate(thread: number): Placement {
    return this.placements.locate(thread, this.#init.thread(thread));
  }

  /** A thread's globals operation, from the peer `host` that runs it; refused from a stale placement. */
  async threadOp(msg: MessageOf<'globals-op'>, host: string): Promise<ReplyInput> {
    const t = this.#init.thread(msg.thread);
    if (t === undefined || t.state !== 'running' || t.placements !== msg.epoch || t.host !== host) {
      if (t !== undefined && t.host !== host && msg.epoch >= t.placements) {
        this.#init.log.warn(`refused a globals '${msg.op}' on '${msg.name}' for thread ${msg.thread} of ${this.#init.vc} from ${host}: the thread runs on ${t.host ?? 'no peer'}`);
      }
      throw new ThreadEffectError(
        'ERR_STALE_EPOCH',
        `thread ${msg.thread} placement ${msg.epoch} on ${host} is not the thread's current placement; its operations are ignored`,
      );
    }
    if (!samePlacementToken(t.token, msg.token)) {
      this.#init.log.warn(`refused a globals '${msg.op}' on '${msg.name}' for thread ${msg.thread} of ${this.#init.vc} from ${host}: wrong placement token`);
      throw new ForbiddenError(`thread ${msg.thread} placement ${msg.epoch}: wrong placement token`);
    }
    const r: GlobalsReply = await this.globals.threadOp(msg.thread, msg.epoch, msg.seq, msg);
    return { t: 'globals-op-reply', ...(r.value !== undefined ? { value: r.value } : {}), ...(r.ok !== undefined ? { ok: r.ok } : {}) };
  }

  /** The application's globals requests. */
  async appOp(msg: MessageOf<'globals-get' | 'globals-set' | 'globals-watch'>): Promise<ReplyInput> {
    switch (msg.t) {
      case 'globals-get': {
        const value = this.globals.get(msg.name);
        return { t: 'globals-get-reply', ...(value !== undefined ? { value } : {}) };
      }
      case 'globals-set':
        await this.globals.set(msg.name, msg.value);
        return { t: 'globals-set-reply' };
      case 'globals-watch':
        if (msg.on) this.#watched.add(msg.name);
        else this.#watched.delete(msg.name);
        return { t: 'globals-watch-reply' };
    }
  }

  placed(t: ThreadRecord): void {
    this.placements.placed(t);
  }

  /** `t` lost its host: held messages wait for its next placement; its locks expire with their leases. */
  queued(t: ThreadRecord): void {
    this.placements.queued(t);
  }

  /** `t` ended: messages to it are dropped, its locks are released, its senders' outboxes to it are dropped. */
  ended(t: ThreadRecord): void {
    this.placements.ended(t);
    this.globals.threadEnded(t.thread);
  }

  /**
   * Recovery's hook: thread `thread`'s checkpoint taken at ThreadState.seq `seq` with consumed cursor `consumed`
   * is acknowledged (held by another peer). Senders trim their outboxes to it, and the global variable manager
   * forgets the replies that a resume from this checkpoint can no longer ask for.
   */
  checkpointAcknowledged(thread: number, seq: number, consumed: Record<number, number>): void {
    this.globals.checkpointAcknowledged(thread, seq);
    const cursor: Record<string, number> = {};
    for (const [k, v] of Object.entries(consumed)) cursor[k] = v;
    if (Object.keys(cursor).length === 0) return;
    const msg = { t: 'msg-trim' as const, vc: this.#init.vc, thread, cursor };
    for (const id of this.#init.workers()) this.#init.links.send(id, msg);
    // The owner's own residual outboxes (and its own threads, if it runs any and is not among the workers).
    const self = this.#init.links.selfId;
    if (![...this.#init.workers()].includes(self)) this.#init.manager?.trim(this.#init.vc, thread, cursor);
  }

  close(): void {
    this.globals.close();
    this.#watched.clear();
    // Residual outboxes and placements kept at the owner for this virtual computer.
    this.#init.manager?.proxy.forget(this.#init.vc);
    this.#init.manager?.resolver.forget(this.#init.vc);
  }
}

/** A virtual computer this peer owns, as its messaging handlers need it. */
export interface OwnedVirtualComputer {
  /** The application's connection. */
  readonly client: Connection;
  readonly messaging: DeployerMessaging;
}

/**
 * The owner's messaging handler table: where a thread runs (thread-locate) and the globals operations of threads
 * (from their hosts) and of the application (from its own connection only). `owned(vc)` is this peer's deployer of
 * `vc`, when it is the owner.
 */
export function deployerMessagingHandlers(owned: (vc: string) => OwnedVirtualComputer | undefined): HandlerTable {
  const own = (vc: string): OwnedVirtualComputer => {
    const d = owned(vc);
    if (d === undefined) throw new UnknownVirtualComputerError(`this peer is not the owner of virtual computer ${vc}`);
    return d;
  };
  const appOp = (msg: MessageOf<'globals-get' | 'globals-set' | 'globals-watch'>, client: Connection): Promise<ReplyInput> => {
    const d = owned(msg.vc);
    if (d === undefined || d.client !== client) {
      throw new UnknownVirtualComputerError(`this controller deploys no virtual computer ${msg.vc} for application ${client.remoteId}`);
    }
    return d.messaging.appOp(msg);
  };
  return {
    'thread-locate': {
      peer: (msg, from) => {
        const d = own(msg.vc);
        if (!d.messaging.member(from.remoteId)) throw new ForbiddenError(`peer ${from.remoteId} takes no part in virtual computer ${msg.vc}`);
        const p = d.messaging.locate(msg.thread);
        return { t: 'thread-locate-reply', epoch: p.epoch, state: p.state, ...(p.host !== undefined ? { host: p.host } : {}) };
      },
    },
    'globals-op': { peer: (msg, from) => own(msg.vc).messaging.threadOp(msg, from.remoteId) },
    'globals-get': { client: appOp },
    'globals-set': { client: appOp },
    'globals-watch': { client: appOp },
  };
}
