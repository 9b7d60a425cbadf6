/**
 * Real daemons and built thread fixtures for the virtual-computer tests.
 *
 * Daemons are child processes running a PeerController with the virtual-computer layer
 * (src/daemon/embedded-peer.ts), on loopback, sharing a fresh swarm key. Fixture thread modules are
 * compiled from fixtures/*.ts into test/.out with inline source maps, and register their exports themselves
 * (as `ppp2p build` output does), so that `vc.spawn` can ship them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { startPeerProcess, type PeerProcess } from '../../src/client/peer-process.ts';
import type { PeerProcessConfig } from '../../src/protocol/peer-process.ts';
import { connect } from '../../src/protocol/connection.ts';
import { askPeer, peerDataDirs } from '../support/ask-peer.ts';
import type { MessageOf, PeerInfo } from '../../src/protocol/messages.ts';

const here = import.meta.dirname;

/**
 * Compiles a fixture thread module (`entry`, default this directory's fixtures/threads.ts) into
 * `test/.out/virtual-computer/<label>/` and returns that directory.
 */
export async function buildFixtures(label: string, entry = join(here, 'fixtures/threads.ts')): Promise<string> {
  const outdir = resolve(here, '../.out/virtual-computer', label);
  await esbuild.build({
    entryPoints: [entry],
    outdir,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return outdir;
}

export class TestSwarm {
  readonly key = randomBytes(32);
  readonly dir = mkdtempSync(join(tmpdir(), 'ppp2p-vc-test-'));
  readonly peers: PeerProcess[] = [];

  /** Starts `n` daemons; the first is the seed the others join. */
  /**
   * Starts `n` daemons; the first is the seed the others join. `sandbox`: the daemons' default (strict or process)
   * unless given; `off` runs threads in the daemon's own process (tests that identify a host by `process.pid`).
   */
  async start(
    n: number,
    opts: { slots?: number; memoryLimitMb?: number; sandbox?: 'strict' | 'process' | 'off'; config?: Partial<PeerProcessConfig> } = {},
  ): Promise<PeerProcess[]> {
    const started: PeerProcess[] = [];
    for (let i = 0; i < n; i++) {
      const seed = this.peers[0]?.url ?? started[0]?.url;
      const p = await startPeerProcess({
        swarmKey: this.key.toString('base64'),
        join: seed === undefined ? [] : [seed],
        slots: opts.slots ?? 1,
        dataDir: join(this.dir, `peer-${this.peers.length + started.length}`),
        logLevel: 'warn',
        memoryLimitMb: opts.memoryLimitMb,
        ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox, trustedSwarm: opts.sandbox === 'off' } : {}),
        ...opts.config,
      });
      peerDataDirs.set(p.url, join(this.dir, `peer-${this.peers.length + started.length}`));
      started.push(p);
    }
    this.peers.push(...started);
    await this.waitForMembers(this.peers.length);
    return started;
  }

  /** Waits until the seed sees `n` live peers (itself included). */
  async waitForMembers(n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = (await this.members(this.peers[0]!)).filter((p) => p.state === 'alive');
      if (live.length === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} live peers, the seed sees ${live.length}`);
      await sleep(100);
    }
  }

  async members(p: PeerProcess): Promise<PeerInfo[]> {
    const conn = await connect(p.url, { swarmKey: this.key, role: 'client' });
    try {
      const reply = await conn.request({ t: 'members' });
      if (reply.t !== 'members-reply') throw new Error(`unexpected ${reply.t}`);
      return reply.peers;
    } finally {
      conn.close();
    }
  }

  /** `vc-status` of one daemon. */
  async status(p: PeerProcess): Promise<MessageOf<'vc-status-reply'>> {
    return askPeer(p.url, this.key, 'vc-status');
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a process with this pid exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie (exited, not yet reaped) still answers kill 0.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Polls until `pred` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(pred: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}
