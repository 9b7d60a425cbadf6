/**
 * bench/tsp: the paper's evaluation of the TSP sample on this machine: each peer's processing rate alone,
 * then speedup and efficiency of the peers together (Donaldson's heterogeneous definitions, bench/speedup.ts)
 * for several problem sizes, in three setups, and the solution quality at a fixed budget.
 *
 * ```sh
 * npm run bench:tsp -- [--sizes 100,250,500,1000] [--tasks 24] [--generations 150] [--repeats 1] [--migration global|none]
 *   [--setups local,heterogeneous,hosts] [--slow-quota 0.5] [--latency-ms 5] [--bandwidth-mbit 1000]
 *   [--quality-generations 300] [--quality-seeds 1,2,3] [--no-quality] [--out bench/results]
 * ```
 * Prints one JSON object on stdout and writes it to `<out>/tsp.json`, with the chart `<out>/tsp-speedup.svg`;
 * what it is doing goes to stderr.
 *
 * The workload for problem size n is `tasks` islands of the genetic algorithm (`samples/tsp/island.ts`) on a
 * uniform random instance of n cities, each evolving `generations` generations, interbreeding through the
 * global elite pool (the paper's scheme; `--migration none` makes the work independent of timing). There are
 * more islands than slots: the virtual computer queues them and a peer that finishes one takes the next, so
 * a slow peer does fewer. Every run starts a fresh swarm: a controller that runs no threads (the
 * application's peer, which owns the virtual computer) and the worker peers of the run, one slot each; the
 * time is taken from the first spawn to the last result, after one short warm-up island per worker (worker
 * thread start-up and code loading are not processing). R = n / seconds. With `--repeats`, each repeat gives
 * its own efficiency from its own runs and the repeat of median efficiency is reported (all are in the JSON).
 *
 * Setups:
 * - `local`: two identical peers on loopback; each alone, then both.
 * - `heterogeneous`: the same, but the second peer is slowed by a CPU quota (`--slow-quota` of one core,
 *   cgroup cpu.cfs_quota_us, or cpu.max on cgroup v2). Needs root.
 * - `hosts`: controller and peers on three simulated hosts: network namespaces joined by veth pairs on a
 *   bridge, each link limited to `--bandwidth-mbit` by tc tbf, with `--latency-ms` added each way by a relay
 *   in front of each daemon (bench/delay-relay.ts; this kernel has no netem). Needs root and iproute2.
 * A setup this machine cannot run is reported as skipped, with the reason. Diagnosis: `BENCH_PEER_NODE_ARGS` /
 * `BENCH_PEER_STDOUT` (bench/peer-diagnosis.ts); peer 0 is the controller.
 */
import { execFileSync } from 'node:child_process';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VirtualComputer } from '../src/client/index.ts';
import { startPeerProcess, type PeerProcess, type PeerProcessConfig } from '../src/client/peer-process.ts';
import { loadBuiltIsland } from '../samples/tsp/built-island.ts';
import { loadTsplib, uniformInstance, type TspInstance } from '../samples/tsp/tsplib.ts';
import { KNOWN_OPTIMA } from '../samples/tsp/optima.ts';
import { solveOnVirtualComputer } from '../samples/tsp/cli.ts';
import type { IslandResult, Migration } from '../samples/tsp/island.ts';
import { peerDiagnosis } from './peer-diagnosis.ts';
import { speedupChart, speedupPoint, type SpeedupPoint } from './speedup.ts';
import { childNodeOptions } from '../src/protocol/package-files.ts';
import { UsageError } from '../src/cli/errors.ts';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const log = (line: string): void => void process.stderr.write(`bench:tsp ${line}\n`);

// ── options ─────────────────────────────────────────────────────────────────────────────────────

const usage =
  'npm run bench:tsp -- [--sizes 100,250,500,1000] [--tasks 24] [--generations 150] [--repeats 1] [--migration global|none] ' +
  '[--setups local,heterogeneous,hosts] [--slow-quota 0.5] [--latency-ms 5] [--bandwidth-mbit 1000] ' +
  '[--quality-generations 300] [--quality-seeds 1,2,3] [--no-quality] [--out DIR]';

type SetupName = 'local' | 'heterogeneous' | 'hosts';
const setupNames: readonly SetupName[] = ['local', 'heterogeneous', 'hosts'];

interface Options {
  sizes: number[];
  tasks: number;
  generations: number;
  repeats: number;
  migration: Migration;
  setups: SetupName[];
  slowQuota: number;
  latencyMs: number;
  bandwidthMbit: number;
  qualityGenerations: number;
  qualitySeeds: number[];
  quality: boolean;
  out: string;
}

function intList(text: string, flag: string, min: number): number[] {
  const items = text.split(',').map((s) => s.trim());
  return items.map((s) => {
    if (!/^-?\d+$/.test(s) || Number(s) < min) throw new UsageError(`--${flag} takes integers >= ${min} separated by commas, found '${s}'`);
    return Number(s);
  });
}

function number(text: string, flag: string, ok: (v: number) => boolean, what: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new UsageError(`--${flag} must be ${what}, found '${text}'`);
  return v;
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        sizes: { type: 'string', default: '100,250,500,1000' },
        tasks: { type: 'string', default: '24' },
        generations: { type: 'string', default: '150' },
        repeats: { type: 'string', default: '1' },
        migration: { type: 'string', default: 'global' },
        setups: { type: 'string', default: setupNames.join(',') },
        'slow-quota': { type: 'string', default: '0.5' },
        'latency-ms': { type: 'string', default: '5' },
        'bandwidth-mbit': { type: 'string', default: '1000' },
        'quality-generations': { type: 'string', default: '300' },
        'quality-seeds': { type: 'string', default: '1,2,3' },
        'no-quality': { type: 'boolean', default: false },
        out: { type: 'string', default: join(benchDir, 'results') },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const migration = values.migration;
  if (migration !== 'global' && migration !== 'none') {
    throw new UsageError(`--migration must be global or none (ring islands wait for each other, so they cannot queue), found '${migration}'`);
  }
  const setups = values.setups.split(',').map((s) => s.trim());
  for (const s of setups) {
    if (!setupNames.includes(s as SetupName)) throw new UsageError(`--setups takes ${setupNames.join(', ')}; found '${s}'`);
  }
  return {
    sizes: intList(values.sizes, 'sizes', 10),
    tasks: intList(values.tasks, 'tasks', 1)[0]!,
    generations: intList(values.generations, 'generations', 1)[0]!,
    repeats: intList(values.repeats, 'repeats', 1)[0]!,
    migration,
    setups: setups as SetupName[],
    slowQuota: number(values['slow-quota'], 'slow-quota', (v) => v > 0 && v < 1, 'a fraction of one core between 0 and 1'),
    latencyMs: number(values['latency-ms'], 'latency-ms', (v) => v >= 0, 'a number of milliseconds >= 0'),
    bandwidthMbit: number(values['bandwidth-mbit'], 'bandwidth-mbit', (v) => v > 0, 'a positive number'),
    qualityGenerations: intList(values['quality-generations'], 'quality-generations', 1)[0]!,
    qualitySeeds: intList(values['quality-seeds'], 'quality-seeds', 0),
    quality: !values['no-quality'],
    out: resolve(values.out),
  };
}

// ── simulated machines ──────────────────────────────────────────────────────────────────────────

/** How to start one peer: through which launcher, listening where, advertising what. */
interface PeerSpec {
  launcher?: string[];
  host?: string;
  port?: number;
  advertiseUrl?: string;
  /** A delay relay to start (in the same launcher) before the peer: listen address, target, delay. */
  relay?: { listen: string; to: string; delayMs: number };
}

/** A setup: the controller and the two worker peers, and what has to be undone afterwards. */
interface Setup {
  name: SetupName;
  description: string;
  controller: PeerSpec;
  workers: [PeerSpec, PeerSpec];
  teardown(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why this machine cannot run a setup, or undefined if it can. */
function cannotRun(name: SetupName): string | undefined {
  if (name === 'local') return undefined;
  if (process.getuid?.() !== 0) return 'needs root (cgroups and network namespaces)';
  if (name === 'heterogeneous' && cpuCgroup() === undefined) return 'no cgroup cpu controller with CFS bandwidth (cpu.cfs_quota_us or cpu.max) found';
  if (name === 'hosts') {
    try {
      run('ip', ['-V']);
      run('tc', ['-V']);
    } catch {
      return "needs iproute2 ('ip' and 'tc'): apt-get install iproute2";
    }
  }
  return undefined;
}

/** The cgroup directory to create a slowed group in, and how quotas are written there. */
function cpuCgroup(): { parent: string; v2: boolean } | undefined {
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) return { parent: '/sys/fs/cgroup/cpu', v2: false };
  if (existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('cpu')) {
    return { parent: '/sys/fs/cgroup', v2: true };
  }
  return undefined;
}

function localSetup(): Setup {
  return { name: 'local', description: 'two identical peers on loopback, one slot each', controller: {}, workers: [{}, {}], teardown() {} };
}

function heterogeneousSetup(quota: number): Setup {
  const cg = cpuCgroup()!;
  const dir = join(cg.parent, `ppp2p-bench-slow-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const period = 100_000;
  if (cg.v2) writeFileSync(join(dir, 'cpu.max'), `${Math.round(quota * period)} ${period}`);
  else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(quota * period)));
  }
  // The shell joins the group before it becomes the peer, so the peer is slow from its first instruction
  // (its advertised speed score included).
  const launcher = ['sh', '-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$@"`, 'sh'];
  return {
    name: 'heterogeneous',
    description: `two peers on loopback, one slot each; the second limited to ${quota} of one core by a cgroup CPU quota (${cg.v2 ? 'cpu.max' : 'cpu.cfs_quota_us'} ${Math.round(quota * period)} per ${period} us)`,
    controller: {},
    workers: [{}, { launcher }],
    teardown() {
      try {
        rmdirSync(dir);
      } catch (err) {
        log(`could not remove ${dir}: ${(err as Error).message}`);
      }
    },
  };
}

function hostsSetup(latencyMs: number, bandwidthMbit: number): Setup {
  const tag = (process.pid % 10_000).toString();
  const bridge = `ppb${tag}`;
  const subnet = '10.77.0';
  run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  const namespaces: string[] = [];
  const teardown = (): void => {
    for (const ns of namespaces) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    try {
      run('ip', ['link', 'del', bridge]);
    } catch {
      /* already gone */
    }
  };
  try {
    run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    const host = (i: number): PeerSpec => {
      const ns = `ppp2p-${tag}-h${i}`;
      const veth = `ppv${tag}h${i}`;
      namespaces.push(ns);
      run('ip', ['netns', 'add', ns]);
      run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['link', 'set', veth, 'master', bridge, 'up']);
      const address = `${subnet}.${10 + i}`;
      run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${bandwidthMbit}mbit`, 'burst', '256kb', 'latency', '50ms']);
      return {
        launcher: ['ip', 'netns', 'exec', ns],
        host: '127.0.0.1',
        port: 7001,
        advertiseUrl: `ws://${address}:7000`,
        relay: { listen: `${address}:7000`, to: '127.0.0.1:7001', delayMs: latencyMs },
      };
    };
    const controller = host(0);
    const workers: [PeerSpec, PeerSpec] = [host(1), host(2)];
    return {
      name: 'hosts',
      description:
        `controller and two peers on three simulated hosts (network namespaces, veth pairs on a bridge), links limited ` +
        `to ${bandwidthMbit} Mbit/s by tc tbf, ${latencyMs} ms added each way by a relay in front of each daemon ` +
        `(round trip +${2 * latencyMs} ms; this kernel has no netem)`,
      controller,
      workers,
      teardown,
    };
  } catch (err) {
    teardown();
    throw err;
  }
}

// ── one measured run ────────────────────────────────────────────────────────────────────────────

interface Swarm {
  peers: PeerProcess[];
  relays: ChildProcess[];
  key: Buffer;
  dir: string;
}

function startRelay(launcher: string[], relay: NonNullable<PeerSpec['relay']>): Promise<ChildProcess> {
  const argv = [...launcher, process.execPath, ...childNodeOptions(), join(benchDir, 'delay-relay.ts'),
    '--listen', relay.listen, '--to', relay.to, '--delay-ms', String(relay.delayMs)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    child.once('exit', (code) => reject(new Error(`delay relay on ${relay.listen} exited (code ${code}) before listening`)));
    createInterface({ input: child.stdout! }).once('line', () => resolvePromise(child));
  });
}

async function startSwarm(specs: PeerSpec[]): Promise<Swarm> {
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), 'ppp2p-bench-tsp-'));
  const swarm: Swarm = { peers: [], relays: [], key, dir };
  try {
    for (const [i, spec] of specs.entries()) {
      if (spec.relay !== undefined) swarm.relays.push(await startRelay(spec.launcher ?? [], spec.relay));
      const config: PeerProcessConfig = {
        swarmKey: key.toString('base64'),
        join: i === 0 ? [] : [swarm.peers[0]!.url],
        // The controller runs no threads: it is the application's peer, and measuring it would measure the owner.
        slots: i === 0 ? 0 : 1,
        dataDir: join(dir, `peer-${i}`),
        logLevel: 'error',
      };
      if (spec.host !== undefined) config.host = spec.host;
      if (spec.port !== undefined) config.port = spec.port;
      if (spec.advertiseUrl !== undefined) config.advertiseUrl = spec.advertiseUrl;
      const diagnosis = peerDiagnosis(i);
      const launcher = [...(spec.launcher ?? []), ...diagnosis.launcher];
      swarm.peers.push(await startPeerProcess(config, { stdout: diagnosis.stdout, nodeArgs: diagnosis.nodeArgs, launcher }));
    }
    return swarm;
  } catch (err) {
    await stopSwarm(swarm);
    throw err;
  }
}

async function stopSwarm(swarm: Swarm): Promise<void> {
  await Promise.all(swarm.peers.map((p) => p.stop()));
  for (const r of swarm.relays) r.kill();
  rmSync(swarm.dir, { recursive: true, force: true });
}

interface RunResult {
  seconds: number;
  bestLength: number;
  /** Islands each worker ran (by the order the workers were given). */
  islandsPerPeer: number[];
  /** Of each worker, the time its islands ran (from 'started' to the result) over the run's time. */
  busyFraction: number[];
  /** CPU seconds of each worker peer's process during the timed part (worker threads included); empty without /proc. */
  peerCpuSeconds: number[];
  /** CPU seconds of the controller's process during the timed part. */
  controllerCpuSeconds?: number;
  /** CPU seconds of this process (the application: spawns, progress, results) during the timed part. */
  appCpuSeconds: number;
}

/** CPU seconds a process has used so far (user + system, all its threads), from /proc; undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Solves the workload for one instance on the given worker peers of a setup; the time of the timed part. */
async function timedRun(setup: Setup, workers: PeerSpec[], instance: TspInstance, o: Options): Promise<RunResult> {
  const island = await loadBuiltIsland();
  const swarm = await startSwarm([setup.controller, ...workers]);
  try {
    const vc = await VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: workers.length, enrolTimeoutMs: 20_000, logLevel: 'error' });
    try {
      const warmup = uniformInstance(20, 1);
      await Promise.all(Array.from({ length: workers.length }, () => vc.spawn(island, { instance: warmup, generations: 1, migration: 'none', seed: 1 }).result));
      const hosts = new Map<string, number>();
      const cpuBefore = swarm.peers.map((p) => cpuSeconds(p.pid));
      const appBefore = process.cpuUsage();
      const started = performance.now();
      const threads = Array.from({ length: o.tasks }, () => vc.spawn(island, { instance, generations: o.generations, migration: o.migration, seed: 1 }));
      // When each island started and ended, as the application saw it: a peer's islands side by side show
      // whether it idled between them or at the end.
      const spans = threads.map((t) => {
        const span = { start: Number.NaN, end: Number.NaN };
        t.once('started', () => (span.start = performance.now()));
        void t.result.then(() => (span.end = performance.now()), () => {});
        return span;
      });
      const results: IslandResult[] = await Promise.all(threads.map((t) => t.result));
      const seconds = (performance.now() - started) / 1000;
      const app = process.cpuUsage(appBefore);
      const busy = new Map<string, number>();
      threads.forEach((t, i) => {
        const span = spans[i]!;
        if (t.host !== undefined) busy.set(t.host, (busy.get(t.host) ?? 0) + (span.end - span.start) / 1000);
      });
      const cpuUsed = swarm.peers.map((p, i) => {
        const after = cpuSeconds(p.pid);
        const before = cpuBefore[i];
        return after === undefined || before === undefined ? undefined : Number((after - before).toFixed(2));
      });
      for (const t of threads) {
        const host = t.host;
        if (host !== undefined) hosts.set(host, (hosts.get(host) ?? 0) + 1);
      }
      return {
        seconds,
        bestLength: Math.min(...results.map((r) => r.bestLength)),
        islandsPerPeer: swarm.peers.slice(1).map((p) => hosts.get(p.peerId) ?? 0),
        busyFraction: swarm.peers.slice(1).map((p) => Number(((busy.get(p.peerId) ?? 0) / seconds).toFixed(4))),
        peerCpuSeconds: cpuUsed.slice(1).filter((c) => c !== undefined),
        controllerCpuSeconds: cpuUsed[0],
        appCpuSeconds: Number(((app.user + app.system) / 1e6).toFixed(2)),
      };
    } finally {
      await vc.close();
    }
  } finally {
    await stopSwarm(swarm);
  }
}

// ── the evaluation ──────────────────────────────────────────────────────────────────────────────

/** One repeat at one size: each peer alone and both together, run back to back, and the figures they give. */
interface Repeat extends SpeedupPoint {
  aloneSeconds: number[];
  togetherSeconds: number;
  /** The machine-speed probe before each run, in the order the runs were made (alone per peer, together). */
  probeMs: { alone: number[]; together: number };
  islandsPerPeer: number[];
  bestLength: number;
  /** CPU seconds of each peer alone, and of each peer, the controller and the application in the run together. */
  cpu: { alone: number[]; together: number[]; controllerTogether?: number; appTogether: number };
  /** Of each peer in the run together, the time its islands ran over the run's time. */
  busyFraction: number[];
  /**
   * What the machine's cores allowed the run together, given the CPU its processes used: it cannot have taken less
   * than their CPU seconds over the cores (`seconds`), so its efficiency cannot have been above `efficiency`. When the
   * peers share the cores with the controller and the application (one machine), this is the ceiling the setup puts
   * on the efficiency, whatever the system does; separate machines, as in the paper, have no such ceiling.
   */
  cpuBound?: { seconds: number; efficiency: number };
}

/** See {@link Repeat.cpuBound}; undefined when some process's CPU is unknown (no /proc). */
function cpuBound(size: number, aloneSeconds: number[], together: RunResult, workers: number): Repeat['cpuBound'] {
  if (together.peerCpuSeconds.length !== workers || together.controllerCpuSeconds === undefined) return undefined;
  const cpu = together.peerCpuSeconds.reduce((a, b) => a + b, 0) + together.controllerCpuSeconds + together.appCpuSeconds;
  const seconds = cpu / availableParallelism();
  // The efficiency of a run together that took only that long: efficiency falls as its time grows.
  const { efficiency } = speedupPoint(size, aloneSeconds, seconds);
  return { seconds: Number(seconds.toFixed(4)), efficiency: Number(efficiency.toFixed(4)) };
}

/** A size's result: the repeat of median efficiency, with the range of all repeats and every repeat. */
interface SizeResult extends Repeat {
  efficiencyRange: [number, number];
  repeats: Repeat[];
}

interface SetupResult {
  setup: SetupName;
  description?: string;
  skipped?: string;
  sizes: SizeResult[];
}

/**
 * A fixed amount of integer work timed in this process just before each run, so that the JSON shows how fast the
 * machine itself was at that moment (a shared VM's speed can drift by 2x within minutes).
 */
function speedProbeMs(): number {
  const started = performance.now();
  let x = 1;
  for (let i = 0; i < 20_000_000; i++) x = (Math.imul(x, 1_103_515_245) + 12_345) | 0;
  const ms = performance.now() - started;
  if (x === 42) log('probe'); // keeps the loop from being optimized away
  return Number(ms.toFixed(1));
}

async function measureSetup(setup: Setup, o: Options): Promise<SizeResult[]> {
  const out: SizeResult[] = [];
  for (const size of o.sizes) {
    const instance = uniformInstance(size, 1);
    // Each repeat is judged on its own runs, made back to back, because the machine's speed drifts between
    // repeats more than between neighbouring runs; every other repeat runs in the opposite order (together
    // first), so that a drift within a repeat does not always favour the same kind of run.
    const repeats: Repeat[] = [];
    for (let rep = 0; rep < o.repeats; rep++) {
      const order: (number | 'both')[] = [...setup.workers.keys(), 'both'];
      if (rep % 2 === 1) order.reverse();
      const alone: RunResult[] = [];
      const aloneProbe: number[] = [];
      let together: RunResult | undefined;
      let togetherProbe = 0;
      for (const which of order) {
        const probe = speedProbeMs();
        if (which === 'both') {
          together = await timedRun(setup, setup.workers, instance, o);
          togetherProbe = probe;
          const r = together;
          log(
            `${setup.name} n=${size}: both ${r.seconds.toFixed(2)} s (islands ${r.islandsPerPeer.join('/')}, ` +
              `busy ${r.busyFraction.map((b) => `${(b * 100).toFixed(1)}%`).join('/')}, cpu ${r.peerCpuSeconds.join('/') || '?'} s, probe ${probe} ms)`,
          );
        } else {
          const r = await timedRun(setup, [setup.workers[which]!], instance, o);
          alone[which] = r;
          aloneProbe[which] = probe;
          log(`${setup.name} n=${size}: peer ${which + 1} alone ${r.seconds.toFixed(2)} s (cpu ${r.peerCpuSeconds.join('') || '?'} s, probe ${probe} ms)`);
        }
      }
      const both = together!;
      const point = speedupPoint(size, alone.map((r) => r.seconds), both.seconds);
      const bound = cpuBound(size, alone.map((r) => r.seconds), both, setup.workers.length);
      log(
        `${setup.name} n=${size} repeat ${rep + 1}: speedup ${point.speedup.toFixed(3)} of ${point.maxSpeedup.toFixed(3)}, efficiency ${(point.efficiency * 100).toFixed(1)}%` +
          (bound === undefined ? '' : ` (the CPU its processes used allows at most ${(bound.efficiency * 100).toFixed(1)}% on ${availableParallelism()} cores)`),
      );
      repeats.push({
        ...point,
        aloneSeconds: alone.map((r) => r.seconds),
        togetherSeconds: both.seconds,
        probeMs: { alone: aloneProbe, together: togetherProbe },
        islandsPerPeer: both.islandsPerPeer,
        bestLength: both.bestLength,
        cpu: { alone: alone.flatMap((r) => r.peerCpuSeconds), together: both.peerCpuSeconds, controllerTogether: both.controllerCpuSeconds, appTogether: both.appCpuSeconds },
        busyFraction: both.busyFraction,
        cpuBound: bound,
      });
    }
    const byEfficiency = [...repeats].sort((a, b) => a.efficiency - b.efficiency);
    const median = byEfficiency[Math.floor((byEfficiency.length - 1) / 2)]!;
    const range: [number, number] = [byEfficiency[0]!.efficiency, byEfficiency.at(-1)!.efficiency];
    if (repeats.length > 1) {
      log(`${setup.name} n=${size}: median efficiency ${(median.efficiency * 100).toFixed(1)}% (repeats ${(range[0] * 100).toFixed(1)} – ${(range[1] * 100).toFixed(1)}%)`);
    }
    out.push({ ...median, efficiencyRange: range, repeats });
  }
  return out;
}

interface QualityRow {
  instance: string;
  optimum: number | undefined;
  seed: number;
  bestLength: number;
  gapPercent: number | undefined;
  seconds: number;
}

/** Fixed budget: 4 islands in a ring on 2 peers of an embedded swarm, `qualityGenerations` generations. */
async function measureQuality(o: Options): Promise<QualityRow[]> {
  const rows: QualityRow[] = [];
  for (const name of ['eil51', 'berlin52', 'kroA100']) {
    const instance = loadTsplib(join(benchDir, '..', 'samples', 'tsp', 'instances', `${name}.tsp`));
    const optimum = KNOWN_OPTIMA[name];
    for (const seed of o.qualitySeeds) {
      const r = await solveOnVirtualComputer({ instance, islands: 4, generations: o.qualityGenerations, seed, migration: 'ring', peers: 2 });
      const gapPercent = optimum === undefined ? undefined : Number((((r.bestLength - optimum) / optimum) * 100).toFixed(3));
      log(`quality ${name} seed ${seed}: ${r.bestLength}${gapPercent === undefined ? '' : ` (gap ${gapPercent}%)`} in ${r.seconds} s`);
      rows.push({ instance: name, optimum, seed, bestLength: r.bestLength, gapPercent, seconds: r.seconds });
    }
  }
  return rows;
}

async function main(argv: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench:tsp: ${err.message}\nusage: ${usage}\n`);
    return 2;
  }
  const startedLoad = loadavg()[0]!;
  const setups: SetupResult[] = [];
  for (const name of o.setups) {
    const why = cannotRun(name);
    if (why !== undefined) {
      log(`${name}: skipped, ${why}`);
      setups.push({ setup: name, skipped: why, sizes: [] });
      continue;
    }
    const setup = name === 'local' ? localSetup() : name === 'heterogeneous' ? heterogeneousSetup(o.slowQuota) : hostsSetup(o.latencyMs, o.bandwidthMbit);
    log(`${name}: ${setup.description}`);
    try {
      setups.push({ setup: name, description: setup.description, sizes: await measureSetup(setup, o) });
    } finally {
      setup.teardown();
    }
  }
  const quality = o.quality ? await measureQuality(o) : [];
  const result = {
    bench: 'tsp',
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, loadAvgAtStart: startedLoad, loadAvgAtEnd: loadavg()[0]! },
    workload: { tasks: o.tasks, generations: o.generations, repeats: o.repeats, migration: o.migration, instance: 'uniform random, seed 1', slotsPerPeer: 1 },
    setups,
    quality: o.quality ? { islands: 4, peers: 2, migration: 'ring', generations: o.qualityGenerations, rows: quality } : undefined,
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'tsp.json'), `${JSON.stringify(result, null, 2)}\n`);
  const measured = setups.filter((s) => s.sizes.length > 0);
  writeFileSync(
    join(o.out, 'tsp-speedup.svg'),
    speedupChart(
      measured.map((s) => ({ label: s.setup, points: s.sizes })),
      `TSP island GA: speedup of 2 peers (${o.tasks} islands x ${o.generations} generations)`,
    ),
  );
  log(`wrote ${join(o.out, 'tsp.json')} and ${join(o.out, 'tsp-speedup.svg')}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
