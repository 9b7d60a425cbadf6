/**
 * A thread placement on this peer as message passing sees it: what the worker hands the message manager and the
 * peer unit proxy, so that neither needs the other's internals.
 */
import type { HostNotice } from '../../runtime/worker-messages.ts';
import type { SlotEvents } from './frame-runner.ts';

/** A placement of a thread on this peer, as message passing sees it. */
export interface LocalThread {
  readonly vc: string;
  readonly owner: string;
  readonly thread: number;
  readonly epoch: number;
  /** The placement's task token from its `exec`: echoed in the reports to the owner (globals-op, msg-residual). */
  readonly token: Uint8Array;
  readonly mailboxSize: number;
  /** Tells the thread's executor something (acks, outbox trims and re-sends); nothing once it has ended. */
  notify(n: HostNotice): void;
  /**
   * The placement is over here: `finished` (result or error: its outbox was handed to the owner) or `stopped`
   * (cancelled, fenced, handed back: a later placement re-sends what it must).
   */
  end(how: 'finished' | 'stopped'): void;
  /** The executor events that carry the thread's calls and notices. */
  readonly events: Pick<SlotEvents, 'onCall' | 'onNotice'>;
}
