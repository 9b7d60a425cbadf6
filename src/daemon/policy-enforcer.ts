/**
 * The donor's usage policy in force on a running peer (usage-policy.ts holds the rules as pure logic): which
 * addresses may connect, whose threads run here and how many at once, and when the peer accepts work at all: inside
 * its hours and, with `onlyWhenIdle`, while its machine is not in use. When work stops being accepted, the threads
 * here migrate away at their next checkpoint, as on a graceful leave, losing nothing; the peer stays in the swarm.
 *
 * A reloaded policy (SIGHUP) takes effect at once for all of this; slots, the sandbox and the limits of executors
 * are fixed at start (the peer says so in its log).
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Logger } from '../protocol/log.ts';
import type { PeerController } from './peer-controller.ts';
import type { Worker } from './host/worker.ts';
import { acceptsWorkAt, addressAllowed, machineInUse, nextWindowChange, ownerAllowed, type UsagePolicy } from './usage-policy.ts';

/** How often the machine's load is looked at under `onlyWhenIdle`. */
const IDLE_CHECK_MS = 15_000;
/** Longest single timer to the next window change (setTimeout's own limit is about 24.8 days). */
const MAX_TIMER_MS = 24 * 3600_000;

export class PolicyEnforcer {
  #policy: UsagePolicy;
  readonly #worker: Worker;
  readonly #log: Logger;
  #windowTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Injected clock and load for tests. */
  readonly #now: () => Date;
  readonly #load: () => number;

  constructor(peer: PeerController, worker: Worker, policy: UsagePolicy, log: Logger, clock: { now?: () => Date; load1?: () => number } = {}) {
    this.#worker = worker;
    this.#log = log;
    this.#policy = policy;
    this.#now = clock.now ?? (() => new Date());
    this.#load = clock.load1 ?? (() => loadavg()[0]!);
    peer.setAddressFilter((address) => addressAllowed(this.#policy, address));
    worker.admitOwner = (owner, running) => {
      if (!ownerAllowed(this.#policy, owner)) return `the usage policy of this peer does not run threads of owner ${owner}`;
      const max = this.#policy.maxThreadsPerOwner;
      if (max !== undefined && running >= max) return `owner ${owner} already runs ${running} thread(s) here, the most the usage policy allows (maxThreadsPerOwner ${max})`;
      return undefined;
    };
    this.#apply();
  }

  get policy(): UsagePolicy {
    return this.#policy;
  }

  /** A reloaded policy: in force from now on. */
  update(policy: UsagePolicy): void {
    this.#policy = policy;
    this.#apply();
  }

  stop(): void {
    clearTimeout(this.#windowTimer);
    clearInterval(this.#idleTimer);
  }

  /** Why no work is accepted now, or undefined when it is. */
  #refusal(): string | undefined {
    const now = this.#now();
    if (!acceptsWorkAt(this.#policy, now)) return `outside the hours of its usage policy (${this.#policy.hours!.join(', ')})`;
    const cores = availableParallelism();
    const load = this.#load();
    if (machineInUse(this.#policy, load, cores)) {
      return `its machine is in use (load ${load.toFixed(2)} on ${cores} cores, over onlyWhenIdle.maxLoad ${this.#policy.onlyWhenIdle!.maxLoad} per core)`;
    }
    return undefined;
  }

  #apply(): void {
    this.#check();
    clearTimeout(this.#windowTimer);
    const next = nextWindowChange(this.#policy, this.#now());
    if (next !== undefined) {
      const ms = Math.min(MAX_TIMER_MS, Math.max(1000, next.getTime() - this.#now().getTime()));
      this.#windowTimer = setTimeout(() => this.#apply(), ms);
      this.#windowTimer.unref();
    }
    clearInterval(this.#idleTimer);
    if (this.#policy.onlyWhenIdle !== undefined) {
      this.#idleTimer = setInterval(() => this.#check(), IDLE_CHECK_MS);
      this.#idleTimer.unref();
    }
  }

  #check(): void {
    const refusal = this.#refusal();
    if (refusal !== undefined) {
      if (this.#worker.paused === undefined) {
        this.#worker.pause(refusal).catch((err: unknown) => this.#log.warn(`migrating threads away failed: ${(err as Error).message}`));
      }
    } else if (this.#worker.paused !== undefined) {
      this.#worker.resume();
    }
  }
}
