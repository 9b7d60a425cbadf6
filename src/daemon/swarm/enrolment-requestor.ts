/**
 * The enrolment requestor (paper's name): asks peers to enrol as workers of one virtual computer.
 *
 * It asks every live peer that is not enrolled yet, all at once (a slow or dead peer costs one timeout, not
 * one per peer), keeps the fastest acceptances up to the number wanted and dismisses the rest. A peer accepts
 * only while it has a free slot; each refusal carries a reason, kept per peer so that a virtual computer that
 * cannot start can say why.
 */
import type { ParticipationManager } from './participation-manager.ts';
import type { PeerLinks } from '../peer-links.ts';

/** A peer that accepted. */
export interface Acceptance {
  id: string;
  slots: number;
  free: number;
  speed: number;
}

export interface EnrolmentRound {
  accepted: Acceptance[];
  /** Peer id → why it did not enrol (its refusal, or why it could not be asked). */
  refusals: Map<string, string>;
  /** Live peers that were candidates in this round. */
  asked: number;
}

/** How long one peer has to answer an enrolment request. */
const ENROL_REQUEST_TIMEOUT_MS = 3000;

export class EnrolmentRequestor {
  readonly #vc: string;
  readonly #links: PeerLinks;
  readonly #membership: ParticipationManager;
  readonly #selfEnrolable: boolean;

  /** `selfEnrolable`: whether this controller's own worker may be enrolled (it has slots). */
  constructor(vc: string, links: PeerLinks, membership: ParticipationManager, selfEnrolable: boolean) {
    this.#vc = vc;
    this.#links = links;
    this.#membership = membership;
    this.#selfEnrolable = selfEnrolable;
  }

  /** Peers that could be asked now: alive, not in `exclude`. */
  candidates(exclude: ReadonlySet<string>): string[] {
    const self = this.#links.selfId;
    return this.#membership
      .peers({ includeSelf: this.#selfEnrolable })
      .filter((p) => p.state === 'alive' && !exclude.has(p.id))
      .sort((a, b) => b.speed - a.speed || b.freeSlots - a.freeSlots)
      .map((p) => p.id)
      .filter((id) => id !== self || this.#selfEnrolable);
  }

  /** Asks every candidate concurrently; enrols at most `wanted` of those who accept (fastest first). */
  async request(wanted: number, exclude: ReadonlySet<string>): Promise<EnrolmentRound> {
    const candidates = this.candidates(exclude);
    const refusals = new Map<string, string>();
    const accepted: Acceptance[] = [];
    if (wanted <= 0 || candidates.length === 0) return { accepted, refusals, asked: candidates.length };
    const self = this.#links.selfId;
    await Promise.all(
      candidates.map(async (id) => {
        try {
          const reply = await this.#links.request(id, { t: 'enrol', vc: this.#vc, owner: self }, ENROL_REQUEST_TIMEOUT_MS);
          if (reply.accepted) accepted.push({ id, slots: reply.slots, free: reply.free, speed: reply.speed });
          else refusals.set(id, reply.reason ?? 'refused without a reason');
        } catch (err) {
          refusals.set(id, `could not be asked: ${(err as Error).message}`);
        }
      }),
    );
    accepted.sort((a, b) => b.speed - a.speed || b.free - a.free);
    for (const extra of accepted.splice(wanted)) {
      this.#links.send(extra.id, { t: 'dismiss', vc: this.#vc });
      refusals.delete(extra.id);
    }
    return { accepted, refusals, asked: candidates.length };
  }
}
