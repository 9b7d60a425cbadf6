/**
 * The worker quota maintainer (paper's name): keeps the number of workers enrolled in one virtual computer
 * at its quota as peers come and go.
 *
 * It reacts to the membership: a worker declared dead is removed at once (its threads are requeued by the
 * deployer), and while the virtual computer is below its quota, a peer that joins or advertises free slots
 * triggers an enrolment round. A slow periodic round covers what events miss (a refusal for a reason that
 * has since gone away). Rounds never overlap.
 */
import type { ParticipationManager, PeerInfo } from '../swarm/participation-manager.ts';

export interface QuotaTarget {
  /** Workers enrolled now. */
  enrolled(): number;
  readonly quota: number;
  /** Runs one enrolment round for the missing workers. */
  enrolMore(): Promise<void>;
  /** An enrolled worker was declared dead. */
  workerDead(id: string): void;
  isEnrolled(id: string): boolean;
}

/** Time between two rounds while below quota when no membership event says anything changed. */
const RETRY_INTERVAL_MS = 5000;

export class WorkerQuotaMaintainer {
  readonly #target: QuotaTarget;
  readonly #membership: ParticipationManager;
  readonly #listeners: [event: 'peer-alive' | 'peer-update' | 'peer-dead', fn: (p: PeerInfo) => void][];
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(target: QuotaTarget, membership: ParticipationManager) {
    this.#target = target;
    this.#membership = membership;
    const maybeEnrol = (p: PeerInfo): void => {
      if (!this.#target.isEnrolled(p.id) && p.freeSlots > 0) this.poke();
    };
    this.#listeners = [
      ['peer-alive', maybeEnrol],
      ['peer-update', maybeEnrol],
      [
        'peer-dead',
        (p) => {
          if (!this.#target.isEnrolled(p.id)) return;
          this.#target.workerDead(p.id);
          this.poke();
        },
      ],
    ];
  }

  start(): void {
    for (const [event, fn] of this.#listeners) this.#membership.on(event, fn);
    this.#timer = setInterval(() => this.poke(), RETRY_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const [event, fn] of this.#listeners) this.#membership.off(event, fn);
  }

  /** Runs an enrolment round if below quota (or schedules one after the round in progress). */
  poke(): void {
    if (this.#stopped || this.#target.enrolled() >= this.#target.quota) return;
    if (this.#round !== undefined) {
      this.#again = true;
      return;
    }
    this.#round = this.#target
      .enrolMore()
      .catch(() => {})
      .finally(() => {
        this.#round = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  /** Resolves when no round is running. */
  async idle(): Promise<void> {
    while (this.#round !== undefined) await this.#round;
  }
}
