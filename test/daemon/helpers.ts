/** Real daemons for tests: `ppp2p peer ...` children on loopback, with a swarm key file in a temp dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, type Identity } from '../../src/protocol/identity.ts';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import type { PeerInfo } from '../../src/protocol/messages.ts';

export { NODE, cliArgs } from '../support/cli.ts';
import { NODE, cliArgs } from '../support/cli.ts';

export interface Daemon {
  proc: ChildProcess;
  url: string;
  peerId: string;
  /** Everything the daemon wrote on stderr so far (log lines). */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class Swarm {
  readonly dir = mkdtempSync(join(tmpdir(), 'ppp2p-test-'));
  readonly key = randomBytes(32);
  readonly keyFile = join(this.dir, 'swarm.key');
  readonly daemons: Daemon[] = [];
  readonly #clients: Connection[] = [];

  constructor() {
    writeFileSync(this.keyFile, `${this.key.toString('base64')}\n`);
  }

  /** Starts `ppp2p peer --port 0 ...args` and resolves once it printed its listening line. */
  start(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
    const proc = spawn(NODE, cliArgs('peer', '--port', '0', '--swarm-key-file', this.keyFile, '--slots', '2', ...args), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let err = '';
    let out = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    return new Promise<Daemon>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not start in 20 s; stderr:\n${err}`)), 20_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl === -1) return;
        clearTimeout(timer);
        const line = JSON.parse(out.slice(0, nl)) as { event: string; url: string; peerId: string };
        const daemon: Daemon = { proc, url: line.url, peerId: line.peerId, stderr: () => err, exited };
        this.daemons.push(daemon);
        resolve(daemon);
      });
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`daemon exited with ${code} before listening; stderr:\n${err}`));
      });
    });
  }

  /** An authenticated client connection (closed by cleanup()). */
  async client(d: Daemon, role: 'client' | 'peer' = 'client', identity: Identity = generateIdentity()): Promise<Connection> {
    const conn = await connect(d.url, { swarmKey: this.key, role, identity });
    this.#clients.push(conn);
    return conn;
  }

  /** The membership as daemon `d` sees it. */
  async members(d: Daemon): Promise<PeerInfo[]> {
    const conn = await this.client(d);
    try {
      const reply = await conn.request({ t: 'members' }, 3000);
      if (reply.t !== 'members-reply') throw new Error(`unexpected ${reply.t}`);
      return reply.peers;
    } finally {
      conn.close();
    }
  }

  /** Kills every daemon (SIGKILL), closes clients, removes the temp dir. */
  async cleanup(): Promise<void> {
    for (const c of this.#clients) c.close();
    await Promise.all(
      this.daemons.map(async (d) => {
        if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
        await d.exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns the time it took. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
