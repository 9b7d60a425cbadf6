/**
 * `ppp2p status [--controller ws://...] [--swarm-key-file F] [--json]`: what one controller knows — the peers
 * of its swarm (id, address, slots, free slots, speed score, last heard), the virtual computers it deploys with
 * their threads (state, host, progress count, last checkpoint with its age, size and holders, migrations), the
 * threads it executes for others, and the checkpoints it holds for them.
 *
 * A controller shows a client only that client's own virtual computers; with the controller's local admin
 * credential (`<data dir>/admin.token`, written at start, mode 0600) it shows everything. `status` sends it when
 * it can read it: `--admin-token-file F`, or `--data-dir D` (the controller's data dir).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../args.ts';
import { CommandFailure, UsageError } from '../errors.ts';
import { connect } from '../../protocol/connection.ts';
import type { MessageOf, PeerInfo } from '../../protocol/messages.ts';
import { DEFAULT_PORT, parseSwarmKey } from './peer.ts';

const usage = 'ppp2p status [--controller ws://host:port] [--swarm-key-file F] [--admin-token-file F | --data-dir D] [--json]';

/** What `--json` prints. */
export interface StatusReport {
  controller: string;
  self: string;
  slots: number;
  free: number;
  peers: PeerInfo[];
  virtualComputers: MessageOf<'vc-status-reply'>['vcs'];
  executing: MessageOf<'vc-status-reply'>['executing'];
  assemblies: MessageOf<'vc-status-reply'>['assemblies'];
  /** Checkpoint copies this controller holds for others (absent from controllers without a checkpoint store). */
  held?: MessageOf<'vc-status-reply'>['held'];
  /** How this peer isolates the threads it runs for others. */
  sandbox?: MessageOf<'vc-status-reply'>['sandbox'];
  /** Why this peer accepts no work now, if it does not. */
  paused?: string;
}

export async function run(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(
    argv,
    { controller: 'string', 'swarm-key-file': 'string', 'admin-token-file': 'string', 'data-dir': 'string', json: 'boolean' },
    usage,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'; usage: ${usage}`);
  const controller = typeof flags.controller === 'string' ? flags.controller : `ws://127.0.0.1:${DEFAULT_PORT}`;
  if (!/^wss?:\/\/[^\s]+$/.test(controller)) throw new UsageError(`--controller must be a ws:// or wss:// URL, got '${controller}'`);
  let swarmKey: Buffer;
  const keyFile = flags['swarm-key-file'];
  if (typeof keyFile === 'string') {
    let text: string;
    try {
      text = readFileSync(keyFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--swarm-key-file ${keyFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    swarmKey = parseSwarmKey(text, `--swarm-key-file ${keyFile}`);
  } else if (process.env.PPP2P_SWARM_KEY !== undefined && process.env.PPP2P_SWARM_KEY !== '') {
    swarmKey = parseSwarmKey(process.env.PPP2P_SWARM_KEY, 'PPP2P_SWARM_KEY');
  } else {
    throw new UsageError(`no swarm key: pass the swarm's key with --swarm-key-file F (or set PPP2P_SWARM_KEY); usage: ${usage}`);
  }
  const adminToken = readAdminToken(flags['admin-token-file'], flags['data-dir']);
  const report = await fetchStatus(controller, swarmKey, adminToken).catch((err: unknown) => {
    throw new CommandFailure(`the controller at ${controller}`, err, '--controller');
  });
  if (flags.json === true) console.log(JSON.stringify(report, null, 2));
  else console.log(formatStatus(report));
  return 0;
}

/**
 * The controller's local admin credential: from `--admin-token-file` (which must be readable), else from
 * `--data-dir`'s admin.token if there is one. Undefined: status shows only this client's own virtual computers.
 */
function readAdminToken(file: unknown, dataDir: unknown): string | undefined {
  const path = typeof file === 'string' ? file : typeof dataDir === 'string' ? join(dataDir, 'admin.token') : undefined;
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (typeof file !== 'string' && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`--admin-token-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** Asks a controller for its membership and its virtual computers (all of them with its admin credential). */
export async function fetchStatus(controller: string, swarmKey: Uint8Array, adminToken?: string): Promise<StatusReport> {
  const conn = await connect(controller, { swarmKey, role: 'client' });
  try {
    const [members, vcs] = await Promise.all([conn.request({ t: 'members' }), conn.request({ t: 'vc-status', ...(adminToken !== undefined ? { admin: adminToken } : {}) })]);
    return {
      controller,
      self: vcs.self,
      slots: vcs.slots,
      free: vcs.free,
      peers: members.peers,
      virtualComputers: vcs.vcs,
      executing: vcs.executing,
      assemblies: vcs.assemblies,
      ...(vcs.sandbox !== undefined ? { sandbox: vcs.sandbox } : {}),
      ...(vcs.paused !== undefined ? { paused: vcs.paused } : {}),
      ...(vcs.held !== undefined ? { held: vcs.held } : {}),
    };
  } finally {
    conn.close();
  }
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

type ThreadRow = StatusReport['virtualComputers'][number]['threads'][number];

/** `#12 (2.1 s ago, 48.2 KB, held by a1b2, c3d4)`; says so when a running thread has no peer to hold its checkpoints. */
function describeCheckpoint(t: ThreadRow): string {
  const ck = t.checkpoint;
  const held = ck === undefined ? 'none yet' : `#${ck.n} (${(ck.ageMs / 1000).toFixed(1)} s ago, ${formatBytes(ck.bytes)}, held by ${ck.holders.join(', ') || 'nobody'})`;
  if (t.protection === 'unprotected') return `${held}; UNPROTECTED: no other peer can hold its checkpoints`;
  return held;
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function ago(epochMs: number, now: number): string {
  if (epochMs === 0) return 'never';
  const s = (now - epochMs) / 1000;
  return s < 1 ? 'just now' : s < 120 ? `${s.toFixed(1)} s ago` : `${Math.round(s / 60)} min ago`;
}

/** The human-readable report. */
export function formatStatus(r: StatusReport, now = Date.now()): string {
  const out: string[] = [];
  out.push(`controller ${r.controller} (peer ${r.self}): ${r.slots} slot(s), ${r.free} free`);
  if (r.sandbox !== undefined) {
    out.push(`sandbox: ${r.sandbox.mode} (${r.sandbox.layers.join('; ')})${r.sandbox.missing.length > 0 ? `; missing: ${r.sandbox.missing.join('; ')}` : ''}`);
  }
  if (r.paused !== undefined) out.push(`accepting no work: ${r.paused}`);
  out.push(`assemblies: ${r.assemblies.held} held, ${r.assemblies.uploaded} uploaded by applications, ${r.assemblies.fetched} fetched, ${r.assemblies.served} served`);
  if (r.held !== undefined) {
    out.push(`checkpoints held for others: ${r.held.versions} of ${r.held.threads} thread(s), ${formatBytes(r.held.bytes)}${r.held.receiving > 0 ? `, ${r.held.receiving} arriving` : ''}`);
  }
  const peers = [...r.peers].sort((a, b) => Number(b.id === r.self) - Number(a.id === r.self) || a.state.localeCompare(b.state) || a.id.localeCompare(b.id));
  out.push('', `PEERS (${peers.filter((p) => p.state !== 'dead').length} live)`);
  out.push(
    table([
      ['ID', 'ADDRESS', 'STATE', 'SLOTS', 'FREE', 'SPEED', 'LAST HEARD'],
      ...peers.map((p) => [p.id, p.url, p.state, p.slots, p.freeSlots, p.speed, p.id === r.self ? '(this controller)' : ago(p.lastHeard, now)]),
    ]),
  );
  out.push('', `VIRTUAL COMPUTERS (${r.virtualComputers.length})`);
  for (const vc of r.virtualComputers) {
    const running = vc.threads.filter((t) => t.state === 'running').length;
    out.push(
      `${vc.vc}  owner ${vc.owner}  workers ${vc.workers.length}/${vc.quota}  threads: ${running} running, ${vc.queued} queued, ` +
        `${vc.finished.done} done, ${vc.finished.failed} failed, ${vc.finished.cancelled} cancelled`,
    );
    if (vc.workers.length > 0) {
      out.push(table([['  WORKER', 'SLOTS', 'SPEED', 'RUNNING'], ...vc.workers.map((w) => [`  ${w.id}`, w.slots, w.speed, w.running])]));
    }
    if (vc.threads.length > 0) {
      out.push(
        table([
          ['  THREAD', 'FUNCTION', 'STATE', 'HOST', 'PROGRESS', 'PLACEMENTS', 'LAST CHECKPOINT'],
          ...vc.threads.map((t) => [`  ${t.thread}`, t.fn, t.state, t.host ?? '-', t.progress, t.placements, describeCheckpoint(t)]),
        ]),
      );
      const moves = vc.threads.flatMap((t) => (t.migrations ?? []).map((m) => ({ thread: t.thread, ...m })));
      if (moves.length > 0) {
        moves.sort((a, b) => a.at - b.at);
        out.push(
          table([
            ['  MIGRATION', 'THREAD', 'FROM', 'TO', 'REASON', 'RESUMED FROM'],
            ...moves.map((m) => [`  ${ago(m.at, now)}`, m.thread, m.from, m.to, m.reason, m.fromCheckpoint ? 'checkpoint' : 'spawn arguments']),
          ]),
        );
      }
    }
  }
  out.push('', `THREADS EXECUTING ON THIS PEER (${r.executing.length})`);
  if (r.executing.length > 0) {
    out.push(
      table([
        ['VIRTUAL COMPUTER', 'OWNER', 'THREAD', 'FUNCTION', 'RUNNING FOR'],
        ...r.executing.map((e) => [e.vc, e.owner, e.thread, e.fn, `${((now - e.since) / 1000).toFixed(1)} s`]),
      ]),
    );
  }
  return out.join('\n');
}
