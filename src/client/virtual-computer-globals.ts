/**
 * `vc.globals`: the application's view of its virtual computer's global variables, which live in the global
 * variable manager at its controller (src/daemon/owner/global-variable-manager.ts). Every operation is
 * linearizable with the threads' own: a `set` made while a thread's `globals.update` holds the variable waits
 * for that update to finish.
 *
 * ```ts
 * await vc.globals.set('best', { length: Infinity });
 * const stop = await vc.globals.watch('best', (value) => console.log('new best', value));
 * ... // threads call globals.update('best', ...)
 * console.log(await vc.globals.get('best'));
 * await stop();
 * ```
 *
 * Values travel encoded with the snapshot codec, like messages: Maps, Sets, Dates, typed arrays and instances of
 * classes registered by a built module (import it in the application too) keep their type.
 * @internal Reached through `VirtualComputer.globals`.
 */
import type { Connection } from '../protocol/connection.ts';
import { errorFromRemote } from '../protocol/errors.ts';
import type { ReplyOf, RequestInputOf, RequestType } from '../protocol/messages.ts';
import { decodeSnapshot, encodeSnapshot } from '../runtime/snapshot-codec.ts';

/** Called with each new value of a watched variable, in the order the changes were applied. */
export type GlobalWatcher = (value: unknown, name: string) => void;

export class VirtualComputerGlobals {
  readonly #conn: Connection;
  readonly #vc: string;
  readonly #watchers = new Map<string, Set<GlobalWatcher>>();

  /** @internal */
  constructor(conn: Connection, vc: string) {
    this.#conn = conn;
    this.#vc = vc;
  }

  /** The variable's current value (undefined if it was never set). */
  async get<T = unknown>(name: string): Promise<T | undefined> {
    checkName(name, 'get');
    const reply = await this.#request({ t: 'globals-get', vc: this.#vc, name });
    return reply.value === undefined ? undefined : (decodeSnapshot(reply.value) as T);
  }

  /** Sets the variable (after any thread's `update` of it in progress). `undefined` deletes it. */
  async set(name: string, value: unknown): Promise<void> {
    checkName(name, 'set');
    const bytes = value === undefined ? undefined : encodeSnapshot(value);
    await this.#request({ t: 'globals-set', vc: this.#vc, name, ...(bytes !== undefined ? { value: bytes } : {}) }, 60_000);
  }

  /**
   * Calls `watcher` with every later value of `name` (each change once, in order). Resolves, once the
   * controller has registered the watch, to a function that stops it.
   */
  async watch(name: string, watcher: GlobalWatcher): Promise<() => Promise<void>> {
    checkName(name, 'watch');
    if (typeof watcher !== 'function') throw new TypeError(`vc.globals.watch('${name}', watcher): watcher must be a function`);
    let set = this.#watchers.get(name);
    const first = set === undefined;
    if (set === undefined) this.#watchers.set(name, (set = new Set()));
    set.add(watcher);
    if (first) await this.#request({ t: 'globals-watch', vc: this.#vc, name, on: true });
    return async () => {
      const s = this.#watchers.get(name);
      if (s === undefined || !s.delete(watcher) || s.size > 0) return;
      this.#watchers.delete(name);
      if (this.#conn.isOpen) await this.#request({ t: 'globals-watch', vc: this.#vc, name, on: false });
    };
  }

  /** A request to the controller; a failure with a known code becomes its class (e.g. UnknownVirtualComputerError). */
  #request<T extends RequestType>(msg: RequestInputOf<T> & { t: T }, timeoutMs?: number): Promise<ReplyOf<T>> {
    return this.#conn.request<T>(msg, timeoutMs).catch((err: unknown) => {
      throw errorFromRemote(err);
    });
  }

  /** @internal A watched variable changed. */
  _changed(name: string, bytes: Uint8Array | undefined): void {
    const set = this.#watchers.get(name);
    if (set === undefined) return;
    const value = bytes === undefined ? undefined : decodeSnapshot(bytes);
    for (const w of set) {
      try {
        w(value, name);
      } catch (err) {
        // A throwing watcher must not stop the others, nor the connection's dispatch.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function checkName(name: unknown, op: string): void {
  if (typeof name !== 'string' || name === '' || name.length > 1024) {
    throw new TypeError(`vc.globals.${op}(name): name must be a non-empty string of at most 1024 characters, got ${JSON.stringify(name)}`);
  }
}
