/**
 * The global variable manager (paper's name): the virtual computer's global variables, at the owner's deployer.
 * One manager applies every operation in its own event loop, one at a time, in arrival order, so all of them
 * are linearizable:
 *
 * - `get` reads the committed value; `set` and `compareAndSet` write it (waiting, in FIFO order with the lock
 *   requests, while a thread's `update` holds the variable, so that `update` is atomic against every writer);
 * - `update` is `lock` (returns the value) → the thread runs `fn` → `unlock` (writes the result, or nothing if
 *   `fn` threw). The lock has a lease (`lockLeaseMs`): at its end it is renewed if the holder's placement is
 *   still current and its peer alive, else released without writing, and the next waiter gets it.
 *
 * Exactly once by (thread, seq) (docs/effects-and-recovery.md): per thread, the highest seq applied and the
 * replies since its last acknowledged checkpoint; a repeated operation is answered from that record, never
 * applied twice. A `lock` whose lease expired without its `unlock` had no visible effect: its record is
 * dropped, so the resumed thread's repeat of it is applied again.
 *
 * Values are snapshot-codec bytes (Maps, typed arrays, registered classes survive). `compareAndSet` compares
 * structurally: equal bytes, or equal decoded values (plain objects regardless of key order).
 */
import type { Logger } from '../../protocol/log.ts';
import { decodeSnapshot } from '../../runtime/snapshot-codec.ts';
import { ThreadEffectError } from '../../runtime/errors.ts';

/** Default lease of an `update`'s lock, in ms. */
export const DEFAULT_LOCK_LEASE_MS = 5000;
/** Replies kept per thread for replays, at most (a thread that never checkpoints would grow it forever). */
const MAX_REPLIES_PER_THREAD = 100_000;

export interface GlobalsReply {
  value?: Uint8Array;
  ok?: boolean;
}

/** One thread operation, as `globals-op` carries it. */
export interface GlobalsOpRequest {
  op: 'get' | 'set' | 'compareAndSet' | 'lock' | 'unlock';
  name: string;
  value?: Uint8Array;
  expected?: Uint8Array;
  write?: boolean;
}

export interface GlobalVariableManagerInit {
  vc: string;
  log: Logger;
  /** @default DEFAULT_LOCK_LEASE_MS */
  leaseMs?: number;
  /** Whether placement `epoch` of `thread` is still current and its peer alive: its lease is renewed. */
  holderAlive(thread: number, epoch: number): boolean;
  /** A variable got a new value (for `vc.globals.watch`). */
  changed(name: string, value: Uint8Array | undefined): void;
}

interface Holder {
  thread: number;
  epoch: number;
  /** Seq of the `lock` operation. */
  seq: number;
  timer: NodeJS.Timeout;
}

interface Waiting {
  /** A lock request, or a write that waits for the variable to be free. */
  kind: 'lock' | 'write';
  thread: number | undefined;
  epoch: number | undefined;
  seq: number | undefined;
  /** For writes: applies it and returns the reply. */
  run?: () => GlobalsReply;
  resolve(r: GlobalsReply): void;
  reject(err: Error): void;
}

interface Variable {
  holder: Holder | undefined;
  waiting: Waiting[];
}

interface ThreadRecord {
  applied: number;
  replies: Map<number, GlobalsReply>;
  pending: Map<number, Promise<GlobalsReply>>;
  /** Locks whose lease expired without their unlock: applied again when repeated. */
  expired: Set<number>;
  warned: boolean;
}

export class GlobalVariableManager {
  readonly leaseMs: number;
  readonly #init: GlobalVariableManagerInit;
  readonly #values = new Map<string, Uint8Array>();
  readonly #vars = new Map<string, Variable>();
  readonly #threads = new Map<number, ThreadRecord>();
  #closed = false;

  constructor(init: GlobalVariableManagerInit) {
    const lease = init.leaseMs ?? DEFAULT_LOCK_LEASE_MS;
    if (!Number.isInteger(lease) || lease < 10) throw new RangeError(`lockLeaseMs must be an integer >= 10, got ${String(init.leaseMs)}`);
    this.leaseMs = lease;
    this.#init = init;
  }

  /** The committed value of `name` (undefined: never set). */
  get(name: string): Uint8Array | undefined {
    return this.#values.get(name);
  }

  /** Who holds `name`'s lock, for status and tests. */
  holder(name: string): { thread: number; epoch: number } | undefined {
    const h = this.#vars.get(name)?.holder;
    return h === undefined ? undefined : { thread: h.thread, epoch: h.epoch };
  }

  /** The application writes `name` (after any update in progress on it). */
  set(name: string, value: Uint8Array | undefined): Promise<void> {
    return Promise.resolve(
      this.#write(name, undefined, undefined, () => {
        this.#assign(name, value);
        return {};
      }),
    ).then(() => undefined);
  }

  /** A thread's operation `seq` from its placement `epoch`: applied once, answered from the record after. */
  threadOp(thread: number, epoch: number, seq: number, op: GlobalsOpRequest): Promise<GlobalsReply> {
    if (this.#closed) return Promise.reject(new ThreadEffectError('ERR_VC_CLOSED', `virtual computer ${this.#init.vc} is closed`));
    const t = this.#thread(thread);
    const recorded = t.replies.get(seq);
    if (recorded !== undefined) {
      // A resumed thread repeats the lock its dead placement still holds (the lease has not ended yet): the
      // lock passes to the new placement, and nobody wrote the variable meanwhile, so the recorded value stands.
      const h = op.op === 'lock' ? this.#vars.get(op.name)?.holder : undefined;
      if (h !== undefined && h.thread === thread && h.seq === seq && h.epoch < epoch) {
        h.epoch = epoch;
        clearTimeout(h.timer);
        h.timer = setTimeout(() => this.#leaseEnd(op.name, h), this.leaseMs);
        h.timer.unref();
      }
      return Promise.resolve(recorded);
    }
    const pending = t.pending.get(seq);
    if (pending !== undefined) {
      // A resumed thread repeats a lock request its dead placement left waiting in the queue: the request (and
      // its place in the queue) passes to the new placement, or serving it would find its placement gone and
      // refuse the live thread with ERR_STALE_EPOCH.
      if (op.op === 'lock') {
        const w = this.#vars.get(op.name)?.waiting.find((x) => x.kind === 'lock' && x.thread === thread && x.seq === seq);
        if (w !== undefined && w.epoch! < epoch) w.epoch = epoch;
      }
      return pending;
    }
    if (seq <= t.applied && !t.expired.has(seq)) {
      this.#init.log.warn(`globals operation ${seq} of thread ${thread} repeats one older than the replies kept for it; applying it again`);
    }
    t.expired.delete(seq);
    let result: GlobalsReply | Promise<GlobalsReply>;
    try {
      result = this.#apply(thread, epoch, seq, op);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!(result instanceof Promise)) {
      this.#record(t, thread, seq, result);
      return Promise.resolve(result);
    }
    const p = result.then(
      (r) => {
        t.pending.delete(seq);
        // A lock is recorded when granted (#grant); everything else when applied.
        if (op.op !== 'lock') this.#record(t, thread, seq, r);
        return r;
      },
      (err: unknown) => {
        t.pending.delete(seq);
        throw err;
      },
    );
    t.pending.set(seq, p);
    return p;
  }

  /** The thread ended (any way): its locks are released unwritten, its waiting requests dropped, its record forgotten. */
  threadEnded(thread: number): void {
    for (const [name, v] of this.#vars) {
      v.waiting = v.waiting.filter((w) => {
        if (w.thread !== thread) return true;
        w.reject(new ThreadEffectError('ERR_THREAD_ENDED', `thread ${thread} ended`));
        return false;
      });
      if (v.holder?.thread === thread) {
        clearTimeout(v.holder.timer);
        v.holder = undefined;
        this.#next(name);
      }
    }
    this.#threads.delete(thread);
  }

  /** Recovery's hook: `thread`'s checkpoint at ThreadState.seq `seq` is acknowledged; a resume repeats nothing below it. */
  checkpointAcknowledged(thread: number, seq: number): void {
    const t = this.#threads.get(thread);
    if (t === undefined) return;
    for (const s of t.replies.keys()) if (s < seq) t.replies.delete(s);
    for (const s of t.expired) if (s < seq) t.expired.delete(s);
  }

  close(): void {
    this.#closed = true;
    for (const v of this.#vars.values()) {
      if (v.holder !== undefined) clearTimeout(v.holder.timer);
      for (const w of v.waiting) w.reject(new ThreadEffectError('ERR_VC_CLOSED', `virtual computer ${this.#init.vc} is closed`));
    }
    this.#vars.clear();
    this.#threads.clear();
  }

  #apply(thread: number, epoch: number, seq: number, op: GlobalsOpRequest): GlobalsReply | Promise<GlobalsReply> {
    const name = op.name;
    switch (op.op) {
      case 'get':
        return this.#valueReply(name);
      case 'set':
        return this.#write(name, thread, epoch, () => {
          this.#assign(name, op.value);
          return {};
        });
      case 'compareAndSet':
        return this.#write(name, thread, epoch, () => {
          if (!structurallyEqual(this.#values.get(name), op.expected)) return { ok: false };
          this.#assign(name, op.value);
          return { ok: true };
        });
      case 'lock':
        return this.#lock(name, thread, epoch, seq);
      case 'unlock':
        return this.#unlock(name, thread, epoch, op);
    }
  }

  #valueReply(name: string): GlobalsReply {
    const value = this.#values.get(name);
    return value === undefined ? {} : { value };
  }

  #var(name: string): Variable {
    let v = this.#vars.get(name);
    if (v === undefined) this.#vars.set(name, (v = { holder: undefined, waiting: [] }));
    return v;
  }

  #thread(thread: number): ThreadRecord {
    let t = this.#threads.get(thread);
    if (t === undefined) this.#threads.set(thread, (t = { applied: -1, replies: new Map(), pending: new Map(), expired: new Set(), warned: false }));
    return t;
  }

  #record(t: ThreadRecord, thread: number, seq: number, r: GlobalsReply): void {
    t.replies.set(seq, r);
    if (seq > t.applied) t.applied = seq;
    if (t.replies.size <= MAX_REPLIES_PER_THREAD) return;
    const oldest = t.replies.keys().next().value!;
    t.replies.delete(oldest);
    if (!t.warned) {
      t.warned = true;
      this.#init.log.warn(
        `thread ${thread} made more than ${MAX_REPLIES_PER_THREAD} globals operations since its last acknowledged checkpoint; ` +
          'the oldest replies are forgotten, so a resume from before them would apply them again',
      );
    }
  }

  /** Applies a write now if the variable is free, else when its turn comes (FIFO with lock requests). */
  #write(name: string, thread: number | undefined, epoch: number | undefined, run: () => GlobalsReply): GlobalsReply | Promise<GlobalsReply> {
    const v = this.#var(name);
    if (v.holder === undefined && v.waiting.length === 0) return run();
    if (v.holder !== undefined && thread !== undefined && v.holder.thread === thread && v.holder.epoch === epoch) {
      throw new ThreadEffectError(
        'ERR_LOCK_REENTRY',
        `thread ${thread} writes '${name}' inside its own globals.update('${name}'): it would wait for itself forever. Return the new value from the update function instead.`,
      );
    }
    return new Promise<GlobalsReply>((resolve, reject) => v.waiting.push({ kind: 'write', thread, epoch, seq: undefined, run, resolve, reject }));
  }

  #lock(name: string, thread: number, epoch: number, seq: number): GlobalsReply | Promise<GlobalsReply> {
    const v = this.#var(name);
    const h = v.holder;
    if (h !== undefined && h.thread === thread) {
      if (h.epoch >= epoch) {
        throw new ThreadEffectError(
          'ERR_LOCK_REENTRY',
          `thread ${thread} calls globals.update('${name}') inside its own globals.update('${name}'): it would wait for itself forever.`,
        );
      }
      // An older placement of this very thread holds it: that placement is gone (superseded), and so is its lock.
      this.#expire(name, v, h, `placement ${h.epoch} of thread ${thread} was superseded by placement ${epoch}`);
    }
    if (v.holder === undefined && v.waiting.length === 0) return this.#grant(name, v, thread, epoch, seq);
    return new Promise<GlobalsReply>((resolve, reject) => v.waiting.push({ kind: 'lock', thread, epoch, seq, resolve, reject }));
  }

  #grant(name: string, v: Variable, thread: number, epoch: number, seq: number): GlobalsReply {
    const holder: Holder = { thread, epoch, seq, timer: setTimeout(() => this.#leaseEnd(name, holder), this.leaseMs) };
    holder.timer.unref();
    v.holder = holder;
    const reply = this.#valueReply(name);
    this.#record(this.#thread(thread), thread, seq, reply);
    return reply;
  }

  #unlock(name: string, thread: number, epoch: number, op: GlobalsOpRequest): GlobalsReply {
    const v = this.#vars.get(name);
    const h = v?.holder;
    if (v === undefined || h === undefined || h.thread !== thread || h.epoch !== epoch) {
      throw new ThreadEffectError(
        'ERR_LEASE_EXPIRED',
        `The lock of globals.update('${name}') in thread ${thread} was lost before the update function returned ` +
          `(its lease of ${this.leaseMs} ms expired while its peer was unreachable): the update was not applied.`,
      );
    }
    clearTimeout(h.timer);
    v.holder = undefined;
    if (op.write === true) this.#assign(name, op.value);
    this.#next(name);
    return {};
  }

  #leaseEnd(name: string, h: Holder): void {
    const v = this.#vars.get(name);
    if (v?.holder !== h) return;
    if (this.#init.holderAlive(h.thread, h.epoch)) {
      h.timer = setTimeout(() => this.#leaseEnd(name, h), this.leaseMs);
      h.timer.unref();
      return;
    }
    this.#expire(name, v, h, `its lease of ${this.leaseMs} ms expired and placement ${h.epoch} of thread ${h.thread} is gone`);
    this.#next(name);
  }

  /** Releases `h`'s lock unwritten; its `lock` is forgotten so that a resumed thread's repeat of it is applied again. */
  #expire(name: string, v: Variable, h: Holder, why: string): void {
    clearTimeout(h.timer);
    v.holder = undefined;
    const t = this.#threads.get(h.thread);
    if (t !== undefined) {
      t.replies.delete(h.seq);
      t.expired.add(h.seq);
    }
    this.#init.log.info(`lock of global '${name}' in ${this.#init.vc} released: ${why}`);
  }

  /** Serves waiting requests in order until one takes the lock. */
  #next(name: string): void {
    const v = this.#vars.get(name);
    if (v === undefined) return;
    while (v.holder === undefined && v.waiting.length > 0) {
      const w = v.waiting.shift()!;
      if (w.kind === 'write') {
        try {
          w.resolve(w.run!());
        } catch (err) {
          w.reject(err as Error);
        }
        continue;
      }
      if (!this.#init.holderAlive(w.thread!, w.epoch!)) {
        w.reject(new ThreadEffectError('ERR_STALE_EPOCH', `placement ${w.epoch} of thread ${w.thread} is gone`));
        continue;
      }
      w.resolve(this.#grant(name, v, w.thread!, w.epoch!, w.seq!));
    }
    if (v.holder === undefined && v.waiting.length === 0 && !this.#values.has(name)) this.#vars.delete(name);
  }

  #assign(name: string, value: Uint8Array | undefined): void {
    if (value === undefined) this.#values.delete(name);
    else this.#values.set(name, value);
    this.#init.changed(name, value);
  }
}

/** Whether two encoded values are structurally equal (`undefined` bytes stand for the value undefined). */
export function structurallyEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a !== undefined && b !== undefined && Buffer.compare(a, b) === 0) return true;
  let x: unknown, y: unknown;
  try {
    x = a === undefined ? undefined : decodeSnapshot(a);
    y = b === undefined ? undefined : decodeSnapshot(b);
  } catch {
    // A class this peer does not know: only identical bytes are equal.
    return false;
  }
  return deepEqual(x, y, new Map());
}

function deepEqual(x: unknown, y: unknown, seen: Map<object, object>): boolean {
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return Number.isNaN(x) && Number.isNaN(y);
  if (seen.get(x) === y) return true;
  seen.set(x, y);
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return false;
  if (x instanceof Date) return x.getTime() === (y as Date).getTime();
  if (x instanceof RegExp) return x.source === (y as RegExp).source && x.flags === (y as RegExp).flags;
  if (ArrayBuffer.isView(x)) {
    const a = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    const yv = y as ArrayBufferView;
    return Buffer.compare(a, new Uint8Array(yv.buffer, yv.byteOffset, yv.byteLength)) === 0;
  }
  if (x instanceof ArrayBuffer) return Buffer.compare(new Uint8Array(x), new Uint8Array(y as ArrayBuffer)) === 0;
  if (x instanceof Map) {
    const m = y as Map<unknown, unknown>;
    if (x.size !== m.size) return false;
    for (const [k, v] of x) if (!m.has(k) || !deepEqual(v, m.get(k), seen)) return false;
    return true;
  }
  if (x instanceof Set) {
    const s = y as Set<unknown>;
    if (x.size !== s.size) return false;
    for (const v of x) if (!s.has(v)) return false;
    return true;
  }
  if (Array.isArray(x)) {
    const arr = y as unknown[];
    if (x.length !== arr.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], arr[i], seen)) return false;
    return true;
  }
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.length !== ky.length) return false;
  for (const k of kx) if (!Object.hasOwn(y, k) || !deepEqual((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], seen)) return false;
  return true;
}
