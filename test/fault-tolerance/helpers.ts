/**
 * Real daemons to kill, and the checkpointing job built by `ppp2p build`, for the fault-tolerance tests, the
 * chaos run (test/chaos/run.ts) and bench/failover.ts.
 *
 * A {@link FaultSwarm} is an owner controller (a peer process with no slots: it only deploys) plus worker peer
 * processes (one slot each), on loopback. The test process is the application: it connects to the controller as
 * a client. Every process can be SIGKILLed or SIGTERMed by peer id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startPeerProcess, type PeerProcess } from '../../src/client/peer-process.ts';
import { connect } from '../../src/protocol/connection.ts';
import { askPeer, peerDataDirs } from '../support/ask-peer.ts';
import type { LogLevel } from '../../src/protocol/log.ts';
import type { MessageOf } from '../../src/protocol/messages.ts';
import { buildProject, formatDiagnostic } from '../../src/build/index.ts';
import { runInSlot } from '../../src/daemon/host/frame-runner.ts';
import { VirtualComputer, type VirtualComputerOptions } from '../../src/client/index.ts';
import type * as Crunch from './fixtures/src/crunch.ts';

const here = import.meta.dirname;
const root = resolve(here, '../..');
const fixtureSrc = join(here, 'fixtures/src');
const fixtureOut = join(root, 'test/.out/fault-tolerance');

export type CrunchModule = typeof Crunch;
export type CrunchResult = Crunch.CrunchResult;
export type VcStatus = MessageOf<'vc-status-reply'>;

/**
 * Builds the job with the preprocessor (once: rebuilt only when the fixture or the preprocessor changed) and
 * imports the built module, whose exports are registered for `vc.spawn`.
 */
export async function buildCrunch(): Promise<CrunchModule> {
  const stampFile = join(fixtureOut, '.stamp');
  const stamp = buildStamp();
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp || !existsSync(join(fixtureOut, 'crunch.js'))) {
    mkdirSync(fixtureOut, { recursive: true });
    const r = buildProject({ rootDir: fixtureSrc, outDir: fixtureOut });
    if (r.diagnostics.length > 0) throw new Error(`ppp2p build of the fault-tolerance fixture failed:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
    writeFileSync(stampFile, stamp);
  }
  return (await import(pathToFileURL(join(fixtureOut, 'crunch.js')).href)) as CrunchModule;
}

function buildStamp(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(fixtureSrc, 'crunch.ts')));
  for (const dir of [join(root, 'src/build'), join(root, 'src/runtime')]) {
    for (const f of readdirSync(dir).sort()) h.update(`${f}:${statSync(join(dir, f)).mtimeMs}`);
  }
  return h.digest('hex');
}

/**
 * What an undisturbed run of `crunch` as thread `id` returns and reports: run in a worker thread of this process
 * (the executors' own slot runner) with a policy that never snapshots, so it does not block the test's event loop.
 */
export async function referenceRun(id: number, args: Parameters<CrunchModule['crunch']>): Promise<{ result: CrunchResult; progress: unknown[] }> {
  const progress: unknown[] = [];
  const run = runInSlot(
    { module: join(fixtureOut, 'crunch.js'), exportName: 'crunch', args, threadId: id, threadCount: 1, policy: { minIntervalMs: 1e12 } },
    { onSnapshot: () => 'continue', onProgress: (v) => progress.push(v) },
  );
  const outcome = await run.done;
  if (!('result' in outcome)) throw new Error('the reference run stopped at a snapshot');
  return { result: outcome.result as CrunchResult, progress };
}

export interface FaultPeer extends PeerProcess {
  readonly slots: number;
}

export interface FaultSwarmOptions {
  /** Worker peers (one slot each). */
  workers: number;
  /** Environment for the workers (fault injection, e.g. PPP2P_FAULT_CHECKPOINT_STORE_DELAY_MS). */
  env?: Record<string, string>;
  /** Whether the controller runs threads too (its own worker is then enrolable). @default false */
  controllerSlots?: number;
  /** Log level of the peers (stderr). @default PPP2P_TEST_LOG or 'warn' */
  logLevel?: LogLevel;
  /** How the peers isolate threads. @default the peers' default (strict where bubblewrap runs, else process) */
  sandbox?: 'strict' | 'process' | 'off';
}

export class FaultSwarm {
  readonly key = randomBytes(32);
  readonly dir = mkdtempSync(join(tmpdir(), 'ppp2p-ft-'));
  readonly peers: FaultPeer[] = [];
  #controller!: FaultPeer;
  #env: Record<string, string> = {};
  #spawned = 0;
  #sandbox: FaultSwarmOptions['sandbox'];
  #logLevel: LogLevel = (process.env.PPP2P_TEST_LOG as LogLevel | undefined) ?? 'warn';

  /** The owner's controller: the application's virtual computers are deployed there. */
  get controller(): FaultPeer {
    return this.#controller;
  }

  static async start(opts: FaultSwarmOptions): Promise<FaultSwarm> {
    const s = new FaultSwarm();
    s.#env = opts.env ?? {};
    if (opts.logLevel !== undefined) s.#logLevel = opts.logLevel;
    s.#sandbox = opts.sandbox;
    try {
      s.#controller = await s.#spawn(opts.controllerSlots ?? 0, {});
      await s.addWorkers(opts.workers);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  /** Starts `n` more worker peers (one slot each) and waits until the controller sees them alive. */
  async addWorkers(n: number): Promise<FaultPeer[]> {
    const started: FaultPeer[] = [];
    // Two at a time: the machine has two cores and each start compiles and measures a speed score.
    for (let i = 0; i < n; i += 2) started.push(...(await Promise.all(Array.from({ length: Math.min(2, n - i) }, () => this.#spawn(1, this.#env)))));
    await this.waitFor(async () => {
      const members = await this.members();
      return started.every((p) => members.get(p.peerId) === 'alive');
    }, 15_000, `workers ${started.map((p) => p.peerId).join(', ')} to join`);
    return started;
  }


  async #spawn(slots: number, env: Record<string, string>): Promise<FaultPeer> {
    const seed = this.#controller?.url;
    // startPeerProcess spawns synchronously with this process's environment: set the injected faults around it.
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    let started: Promise<PeerProcess>;
    // Counted here, not from this.peers: peers start two at a time, and each needs its own data dir.
    const dataDir = join(this.dir, `peer-${this.#spawned++}`);
    try {
      started = startPeerProcess(
        {
          swarmKey: this.key.toString('base64'),
          join: seed === undefined ? [] : [seed],
          slots,
          dataDir,
          logLevel: this.#logLevel,
          ...(this.#sandbox !== undefined ? { sandbox: this.#sandbox, trustedSwarm: this.#sandbox === 'off' } : {}),
        },
        { stdout: null },
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const p = await started;
    peerDataDirs.set(p.url, dataDir);
    const peer: FaultPeer = Object.assign(p, { slots });
    this.peers.push(peer);
    return peer;
  }

  peer(id: string): FaultPeer {
    const p = this.peers.find((x) => x.peerId === id);
    if (p === undefined) throw new Error(`no peer ${id} in this swarm`);
    return p;
  }

  /** Live worker peers (processes not killed). */
  get liveWorkers(): FaultPeer[] {
    return this.peers.filter((p) => p !== this.#controller && p.child.exitCode === null && p.child.signalCode === null);
  }

  /** SIGKILLs a peer and waits for its process to be gone. */
  async kill(id: string): Promise<void> {
    const p = this.peer(id);
    p.child.kill('SIGKILL');
    await p.exited;
  }

  /** SIGTERMs a peer (graceful leave); resolves when it exited. */
  async terminate(id: string, timeoutMs = 30_000): Promise<void> {
    const p = this.peer(id);
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
    await p.exited;
    clearTimeout(timer);
  }

  /** Creates a virtual computer on the controller with this process as its application. */
  create(opts: Omit<VirtualComputerOptions, 'controller' | 'swarmKey'>): Promise<VirtualComputer> {
    return VirtualComputer.create({ enrolTimeoutMs: 5000, ...opts, controller: this.#controller.url, swarmKey: this.key });
  }

  /** Peer id → state, as the controller sees the membership. */
  async members(via: PeerProcess = this.#controller): Promise<Map<string, string>> {
    const conn = await connect(via.url, { swarmKey: this.key, role: 'client' });
    try {
      const reply = await conn.request({ t: 'members' });
      if (reply.t !== 'members-reply') throw new Error(`unexpected ${reply.t}`);
      return new Map(reply.peers.map((p) => [p.id, p.state]));
    } finally {
      conn.close();
    }
  }

  /** `vc-status` of a peer (the controller by default). */
  async status(via: PeerProcess = this.#controller): Promise<VcStatus> {
    return askPeer(via.url, this.key, 'vc-status');
  }

  /** The controller's view of one thread. */
  async thread(vc: string, thread: number): Promise<VcStatus['vcs'][number]['threads'][number] | undefined> {
    const s = await this.status();
    return s.vcs.find((v) => v.vc === vc)?.threads.find((t) => t.thread === thread);
  }

  /** Polls `pred` until it holds; throws naming `what` after `timeoutMs`. */
  async waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await pred()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop(2000)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Collects a thread's progress values, its migrations and its hosts, as the application sees them. */
export function observe<T extends { on(e: string, f: (...a: never[]) => void): unknown }>(t: T): { progress: unknown[]; migrations: { from: string; to: string; reason: string; fromCheckpoint: boolean }[]; hosts: string[] } {
  const seen = { progress: [] as unknown[], migrations: [] as { from: string; to: string; reason: string; fromCheckpoint: boolean }[], hosts: [] as string[] };
  t.on('progress', ((v: unknown) => seen.progress.push(v)) as never);
  t.on('migrated', ((m: { from: string; to: string; reason: string; fromCheckpoint: boolean }) => seen.migrations.push(m)) as never);
  t.on('started', ((h: string) => seen.hosts.push(h)) as never);
  return seen;
}
