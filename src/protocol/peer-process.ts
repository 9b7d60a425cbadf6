/**
 * What a parent process and a child peer process say to each other over the child's stdin and stdout: the
 * configuration as the first line of stdin (never on the command line, where `ps` shows the swarm key to every
 * user), then a `stop` line or stdin closing; the child's `listening` line on stdout.
 */
import type { LogLevel } from './log.ts';

/** What the parent sends as the first line of the child's stdin. */
export interface PeerProcessConfig {
  /** The swarm key, base64. */
  swarmKey: string;
  join?: string[];
  host?: string;
  port?: number;
  /** The URL other peers dial, when it is not the listening address (a relay or a port forward in front). */
  advertiseUrl?: string;
  /** Slots (threads at once). @default CPU cores */
  slots?: number;
  dataDir?: string;
  /** Remove `dataDir` when the child exits (it belongs to this child only). @default false */
  removeDataDir?: boolean;
  logLevel?: LogLevel;
  /** Heap limit per thread in MB. @default 512 */
  memoryLimitMb?: number;
  /**
   * How the peer isolates the threads it runs (daemon/host/sandbox.ts). @default `strict` where bubblewrap runs,
   * else `process`. `off` needs `trustedSwarm`: the embedded local swarm runs the application's own code.
   */
  sandbox?: 'strict' | 'process' | 'off';
  trustedSwarm?: boolean;
  /** Per-thread limits: CPU seconds, wall seconds; and memory of one executor process in MB. */
  maxThreadCpuSeconds?: number;
  maxThreadWallSeconds?: number;
  maxMemoryMb?: number;
  /** Executor crashes a thread may cause before it fails (this controller's virtual computers). @default 3 */
  maxErrors?: number;
  /** Paths to remove when the parent dies without stopping this child (files the parent can no longer remove). */
  orphanCleanup?: string[];
}

/** The child's first stdout line, the same `ppp2p peer` prints. */
export interface ListeningEvent {
  event: 'listening';
  url: string;
  peerId: string;
}
