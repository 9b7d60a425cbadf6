/**
 * A deterministic stand-in for a virtual computer, for testing island code in one process: it
 * runs N untransformed threads cooperatively, one at a time, each in its own ThreadContext with a
 * host that implements messages (FIFO per sender and receiver), globals (with a lock for `update`)
 * and progress. Whenever several threads could go on, a seeded `schedule` picks which one does, so
 * a test can run the same program under different interleavings and compare the results.
 *
 * Only one thread runs at a time and only host calls suspend it (untransformed `checkpoint()` is a
 * resolved no-op), so "the running thread" is always well defined: before a thread continues, the
 * harness makes its context the current one.
 */
import { ThreadContext, detachThread, type GlobalsOp, type ThreadHost } from '../../src/runtime/index.ts';

export interface SwarmRun<R> {
  results: R[];
  progress: { thread: number; value: unknown }[];
  globals: Map<string, unknown>;
  /** Messages sent but never received, per `from->to` pair. */
  undelivered: number;
}

interface Pending {
  thread: number;
  resolve: () => void;
}

export async function runSwarm<A, R>(
  entry: (arg: A) => Promise<R>,
  args: A[],
  options: { schedule: number; threadSeed?: number },
): Promise<SwarmRun<R>> {
  const count = args.length;
  const results: (R | undefined)[] = new Array<R | undefined>(count);
  const progress: { thread: number; value: unknown }[] = [];
  const globalValues = new Map<string, unknown>();
  const mailboxes = new Map<string, unknown[]>();
  const receivers = new Map<number, { from: number; deliver: (value: unknown) => void }>();
  const lockHolder = new Map<string, number>();
  const lockQueue = new Map<string, Pending[]>();
  /** Threads whose last host call can be answered: the scheduler picks one of these. */
  const ready: Pending[] = [];
  let scheduleState = options.schedule >>> 0 || 1;
  const pick = (bound: number): number => {
    // xorshift32: the schedule seed alone decides the interleaving.
    scheduleState ^= scheduleState << 13;
    scheduleState ^= scheduleState >>> 17;
    scheduleState ^= scheduleState << 5;
    return (scheduleState >>> 0) % bound;
  };

  // The running thread signals here when it suspends on a host call or finishes.
  let yielded: (() => void) | undefined;
  let failure: unknown;
  const yieldToScheduler = (): void => {
    const y = yielded;
    yielded = undefined;
    y?.();
  };
  const suspend = (onReady: (resolve: () => void) => void): Promise<void> =>
    new Promise<void>((resolve) => {
      onReady(resolve);
      yieldToScheduler();
    });

  const contexts = args.map((_, id) => {
    const host: ThreadHost = {
      checkpoint: () => Promise.resolve(),
      progress(value) {
        progress.push({ thread: id, value });
      },
      async send(to, value) {
        if (!Number.isInteger(to) || to < 0 || to >= count) throw new RangeError(`send to a thread that does not exist: ${to}`);
        const waiting = receivers.get(to);
        if (waiting !== undefined && waiting.from === id) {
          receivers.delete(to);
          waiting.deliver(value);
        } else {
          const key = `${id}->${to}`;
          const box = mailboxes.get(key) ?? [];
          box.push(structuredClone(value));
          mailboxes.set(key, box);
        }
        await suspend((resolve) => ready.push({ thread: id, resolve }));
      },
      async receive(opts) {
        const from = opts.from;
        if (from === undefined) throw new Error('this harness only supports receive({ from })');
        const box = mailboxes.get(`${from}->${id}`);
        let value: unknown;
        await suspend((resolve) => {
          if (box !== undefined && box.length > 0) {
            value = box.shift();
            ready.push({ thread: id, resolve });
          } else {
            receivers.set(id, {
              from,
              deliver: (v) => {
                value = structuredClone(v);
                ready.push({ thread: id, resolve });
              },
            });
          }
        });
        return { from, value };
      },
      async globals(op: GlobalsOp) {
        let answer: unknown;
        await suspend((resolve) => {
          const self = { thread: id, resolve };
          switch (op.op) {
            case 'get':
              answer = structuredClone(globalValues.get(op.name));
              ready.push(self);
              break;
            case 'set':
              globalValues.set(op.name, structuredClone(op.value));
              ready.push(self);
              break;
            case 'compareAndSet':
              throw new Error('not used by the islands');
            case 'lock': {
              const grant = (): void => {
                lockHolder.set(op.name, id);
                answer = structuredClone(globalValues.get(op.name));
                ready.push(self);
              };
              if (!lockHolder.has(op.name)) grant();
              else {
                const q = lockQueue.get(op.name) ?? [];
                q.push({ thread: id, resolve: grant });
                lockQueue.set(op.name, q);
              }
              break;
            }
            case 'unlock': {
              if (lockHolder.get(op.name) !== id) throw new Error(`thread ${id} unlocks '${op.name}' without holding it`);
              if (op.write) globalValues.set(op.name, structuredClone(op.value));
              lockHolder.delete(op.name);
              lockQueue.get(op.name)?.shift()?.resolve();
              ready.push(self);
              break;
            }
          }
        });
        return answer;
      },
    };
    return new ThreadContext(ThreadContext.initialState(id, count, options.threadSeed), host);
  });

  /** Makes `thread`'s context current and waits until it suspends again or ends. */
  const step = (thread: number, go: () => void): Promise<void> =>
    new Promise<void>((resolve) => {
      yielded = resolve;
      // ThreadContext has no public "switch to"; running a no-op entry makes the context current.
      void contexts[thread]!.run(async () => undefined, []);
      go();
    });

  let finished = 0;
  for (let id = 0; id < count; id++) {
    await step(id, () => {
      contexts[id]!.run(entry, [args[id]!]).then(
        (r) => {
          results[id] = r;
          finished++;
          yieldToScheduler();
        },
        (err: unknown) => {
          failure ??= err;
          finished++;
          yieldToScheduler();
        },
      );
    });
  }
  while (finished < count && failure === undefined) {
    if (ready.length === 0) throw new Error(`deadlock: ${count - finished} threads wait and none can go on`);
    const next = ready.splice(pick(ready.length), 1)[0]!;
    await step(next.thread, next.resolve);
  }
  detachThread();
  if (failure !== undefined) throw failure;
  let undelivered = 0;
  for (const box of mailboxes.values()) undelivered += box.length;
  return { results: results as R[], progress, globals: globalValues, undelivered };
}
