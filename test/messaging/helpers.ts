/**
 * Real daemons and built thread fixtures for the message-passing and globals tests.
 *
 * Daemons are child processes (src/daemon/embedded-peer.ts) on loopback sharing a fresh swarm key; each can
 * have its own number of slots (a controller with 0 slots runs no threads, so that killing a worker never kills
 * the owner). Fixtures are built from fixtures/*.ts with the preprocessor (`ppp2p build`), so that they checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startPeerProcess, type PeerProcess } from '../../src/client/peer-process.ts';
import { askPeer, peerDataDirs } from '../support/ask-peer.ts';
import type { MessageOf } from '../../src/protocol/messages.ts';
import { buildProject, formatDiagnostic } from '../../src/build/index.ts';
import type * as Threads from './fixtures/threads.ts';

const here = import.meta.dirname;

/** Builds fixtures/ with `ppp2p build` into test/.out/messaging/<label>/ and imports the thread module. */
export async function loadThreads(label: string): Promise<typeof Threads> {
  const outDir = resolve(here, '../.out/messaging', label);
  const { diagnostics } = buildProject({ rootDir: join(here, 'fixtures'), outDir });
  if (diagnostics.length > 0) throw new Error(`ppp2p build of the fixtures failed:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  return (await import(pathToFileURL(join(outDir, 'threads.js')).href)) as typeof Threads;
}

export class PeerSwarm {
  readonly key = randomBytes(32);
  readonly dir = mkdtempSync(join(tmpdir(), 'ppp2p-msg-test-'));
  readonly peers: PeerProcess[] = [];

  /** Starts one daemon per entry of `slots` (the first is the seed the others join) and waits until all see each other. */
  async start(slots: number[], logLevel: 'warn' | 'info' | 'debug' | 'error' = 'warn'): Promise<PeerProcess[]> {
    const started: PeerProcess[] = [];
    for (const s of slots) {
      const seed = this.peers[0]?.url ?? started[0]?.url;
      started.push(
        await startPeerProcess(
          {
            swarmKey: this.key.toString('base64'),
            join: seed === undefined ? [] : [seed],
            slots: s,
            dataDir: join(this.dir, `peer-${this.peers.length + started.length}`),
            logLevel,
          },
          { stdout: null },
        ),
      );
    }
    for (const [i, p] of started.entries()) peerDataDirs.set(p.url, join(this.dir, `peer-${this.peers.length + i}`));
    this.peers.push(...started);
    await this.waitForMembers(this.peers.length);
    return started;
  }

  get controller(): PeerProcess {
    return this.peers[0]!;
  }

  async waitForMembers(n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await askPeer(this.controller.url, this.key, 'members');
      if (reply.peers.filter((p) => p.state === 'alive').length === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} live peers`);
      await sleep(100);
    }
  }

  async status(p: PeerProcess): Promise<MessageOf<'vc-status-reply'>> {
    return askPeer(p.url, this.key, 'vc-status');
  }

  peer(id: string | undefined): PeerProcess {
    const p = this.peers.find((x) => x.peerId === id);
    if (p === undefined) throw new Error(`no peer ${String(id)} in this swarm`);
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `pred` holds; throws naming `what` after `timeoutMs`. */
export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
