/**
 * A swarm of `ppp2p peer` daemons for the fuzzer and the abusive-client test: an owner's controller with no slots
 * and worker peers with one slot each, every one a child process whose stderr the test reads (FaultSwarm's peers
 * write theirs to the terminal), with a data dir so that `vc-status` can be asked with the admin credential.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Swarm, waitFor, type Daemon } from '../daemon/helpers.ts';
import { askPeer, peerDataDirs } from '../support/ask-peer.ts';
import { connect } from '../../src/protocol/connection.ts';
import { VirtualComputer, type VirtualComputerOptions } from '../../src/client/index.ts';
import type { MessageOf } from '../../src/protocol/messages.ts';

export type VcStatus = MessageOf<'vc-status-reply'>;
export type ThreadStatus = VcStatus['vcs'][number]['threads'][number];

export class LiveSwarm {
  readonly swarm = new Swarm();
  controller!: Daemon;
  workers: Daemon[] = [];

  get key(): Buffer {
    return this.swarm.key;
  }

  get daemons(): Daemon[] {
    return [this.controller, ...this.workers];
  }

  static async start(workers: number): Promise<LiveSwarm> {
    const s = new LiveSwarm();
    try {
      s.controller = await s.#start(0, []);
      for (let i = 0; i < workers; i++) s.workers.push(await s.#start(1, ['--join', s.controller.url]));
      await waitFor(async () => (await s.swarm.members(s.controller)).filter((p) => p.state === 'alive').length === workers + 1, 20_000, 'the workers to join', 100);
    } catch (err) {
      await s.swarm.cleanup();
      throw err;
    }
    return s;
  }

  async #start(slots: number, args: string[]): Promise<Daemon> {
    const dataDir = join(this.swarm.dir, `peer-${this.swarm.daemons.length}`);
    const d = await this.swarm.start(['--slots', String(slots), '--data-dir', dataDir, '--log-level', 'warn', ...args]);
    peerDataDirs.set(d.url, dataDir);
    return d;
  }

  adminToken(d: Daemon): string {
    return readFileSync(join(peerDataDirs.get(d.url)!, 'admin.token'), 'utf8').trim();
  }

  create(opts: Omit<VirtualComputerOptions, 'controller' | 'swarmKey'>): Promise<VirtualComputer> {
    return VirtualComputer.create({ enrolTimeoutMs: 10_000, ...opts, controller: this.controller.url, swarmKey: this.key });
  }

  async thread(vc: string, id: number): Promise<ThreadStatus | undefined> {
    const s = await askPeer(this.controller.url, this.key, 'vc-status');
    return s.vcs.find((v) => v.vc === vc)?.threads.find((t) => t.thread === id);
  }

  /** Daemons whose process has exited (it must be none). */
  exited(): string[] {
    return this.daemons.filter((d) => d.proc.exitCode !== null || d.proc.signalCode !== null).map((d) => `${d.peerId} (${d.proc.exitCode ?? d.proc.signalCode})`);
  }

  /** Each daemon answers `members` and `echo` on a fresh authenticated connection; returns each one's member states. */
  async probe(timeoutMs = 10_000): Promise<Map<string, Map<string, string>>> {
    const views = new Map<string, Map<string, string>>();
    for (const d of this.daemons) {
      const conn = await connect(d.url, { swarmKey: this.key, role: 'client' });
      try {
        const members = await conn.request({ t: 'members' }, timeoutMs);
        const echo = await conn.request({ t: 'echo', value: { probe: d.peerId } }, timeoutMs);
        if (JSON.stringify(echo.value) !== JSON.stringify({ probe: d.peerId })) throw new Error(`${d.peerId} echoed ${JSON.stringify(echo.value)}`);
        views.set(d.peerId, new Map(members.peers.map((p) => [p.id, p.state])));
      } finally {
        conn.close();
      }
    }
    return views;
  }

  /** Lines any daemon logged at ERROR level, or about an uncaught or unhandled failure. */
  errors(): string[] {
    return this.daemons.flatMap((d) => d.stderr().split('\n').filter((l) => / ERROR |uncaught|unhandled|threw/i.test(l)).map((l) => `${d.peerId}: ${l}`));
  }

  /** Waits until thread `id` of `vc` runs with an acknowledged checkpoint; where it runs, at which epoch, who holds it. */
  async runningWithCheckpoint(vc: string, id: number, timeoutMs = 30_000): Promise<{ host: string; epoch: number; holders: string[]; n: number }> {
    let out: { host: string; epoch: number; holders: string[]; n: number } | undefined;
    await waitFor(
      async () => {
        const t = await this.thread(vc, id);
        if (t?.state !== 'running' || t.host === undefined || t.checkpoint === undefined) return false;
        out = { host: t.host, epoch: t.placements, holders: t.checkpoint.holders, n: t.checkpoint.n };
        return true;
      },
      timeoutMs,
      `thread ${id} of ${vc} to run with a checkpoint`,
      100,
    );
    return out!;
  }

  stop(): Promise<void> {
    return this.swarm.cleanup();
  }
}

/** Resident set size of a daemon process in bytes (Linux /proc). */
export function rssOf(d: Daemon): number {
  const status = readFileSync(`/proc/${d.proc.pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${d.proc.pid}`);
  return Number(m[1]) * 1024;
}
