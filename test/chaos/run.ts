/**
 * `npm run chaos`: random SIGKILLs against running checkpointing jobs for a configurable time, asserting that
 * every thread returns what an undisturbed run returns and that the application sees exactly the undisturbed
 * run's progress values, in order, each once.
 *
 * ```sh
 * npm run chaos -- --duration 60 --workers 5 --threads 3 --seed 7
 * npm run chaos -- --duration 20 --term-ratio 0.3       # some graceful leaves (SIGTERM) among the kills
 * ```
 * Rounds: a virtual computer runs `threads` copies of the job (thread ids 0..threads-1, so the undisturbed
 * references are computed once), the application checks them, and the next round starts, until `duration`
 * seconds have passed. Meanwhile a killer picks a random live worker every `min-gap`..`max-gap` ms (never the
 * last one, never the owner's controller), kills it, and starts a replacement peer. Prints one JSON report on
 * stdout; exits 1 if any thread's result or progress differed.
 */
import { parseArgs } from 'node:util';
import { buildCrunch, FaultSwarm, observe, referenceRun, sleep, type CrunchResult } from '../fault-tolerance/helpers.ts';
import type { VirtualComputer } from '../../src/client/index.ts';

export interface ChaosOptions {
  /** Seconds of chaos (rounds start until then; the last one finishes after). @default 30 */
  durationS?: number;
  /** Worker peers kept in the swarm (replacements are started after each kill). @default 4 */
  workers?: number;
  /** Threads per round. @default 3 */
  threads?: number;
  /** Job size: steps of `work` random draws (about 6.5 ms of CPU per 40k draws). @default 500, 40000 */
  steps?: number;
  work?: number;
  /** Time between two kills, chosen uniformly. @default 2000, 5000 */
  minGapMs?: number;
  maxGapMs?: number;
  /** Fraction of the kills that are SIGTERM (graceful leave) rather than SIGKILL. @default 0 */
  termRatio?: number;
  /** Checkpoint policy of the job. @default 200 */
  checkpointIntervalMs?: number;
  /** Seeds the killer's choices (which peer, when). @default time-based */
  seed?: number;
  /** Progress lines on stderr. @default true */
  verbose?: boolean;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  durationMs: number;
  rounds: number;
  threads: number;
  kills: { sigkill: number; sigterm: number };
  migrations: { total: number; fromCheckpoint: number; fromArguments: number };
  mismatches: string[];
}

/** mulberry32: a small seeded generator for the killer's choices. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const o = {
    durationS: options.durationS ?? 30,
    workers: options.workers ?? 4,
    threads: options.threads ?? 3,
    steps: options.steps ?? 500,
    work: options.work ?? 40_000,
    minGapMs: options.minGapMs ?? 2000,
    maxGapMs: options.maxGapMs ?? 5000,
    termRatio: options.termRatio ?? 0,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 200,
    seed: options.seed ?? Date.now() % 1_000_000,
    verbose: options.verbose ?? true,
  };
  if (o.workers < 2) throw new RangeError('chaos needs at least 2 workers (one is always left alive)');
  const log = (line: string): void => {
    if (o.verbose) process.stderr.write(`chaos: ${line}\n`);
  };
  const random = seeded(o.seed);
  const job = await buildCrunch();
  const args: [number, number] = [o.steps, o.work];
  const swarm = await FaultSwarm.start({ workers: o.workers });
  // The undisturbed references, one at a time in a worker thread of this process, while the chaos runs.
  const references: Promise<{ result: CrunchResult; progress: unknown[] }>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  for (let id = 0; id < o.threads; id++) {
    const r = chain.then(() => referenceRun(id, args));
    references.push(r);
    chain = r;
  }
  const report: ChaosReport = {
    ok: false,
    seed: o.seed,
    durationMs: 0,
    rounds: 0,
    threads: 0,
    kills: { sigkill: 0, sigterm: 0 },
    migrations: { total: 0, fromCheckpoint: 0, fromArguments: 0 },
    mismatches: [],
  };
  const started = Date.now();
  const deadline = started + o.durationS * 1000;
  let stop = false;
  const replacements = new Set<Promise<unknown>>();
  const killer = (async () => {
    while (!stop) {
      await sleep(o.minGapMs + random() * (o.maxGapMs - o.minGapMs));
      if (stop) break;
      const live = swarm.liveWorkers;
      if (live.length <= 1) continue;
      const victim = live[Math.floor(random() * live.length)]!;
      const term = random() < o.termRatio;
      log(`${term ? 'SIGTERM' : 'SIGKILL'} ${victim.peerId} (${live.length} live workers)`);
      if (term) {
        report.kills.sigterm++;
        void swarm.terminate(victim.peerId);
      } else {
        report.kills.sigkill++;
        await swarm.kill(victim.peerId);
      }
      // Keep the swarm at its size: a replacement joins (and the quota maintainer may enrol it).
      const r = swarm.addWorkers(1).catch((err: unknown) => log(`could not start a replacement: ${(err as Error).message}`));
      replacements.add(r);
      void r.finally(() => replacements.delete(r));
    }
  })();
  let vc: VirtualComputer | undefined;
  try {
    while (Date.now() < deadline) {
      report.rounds++;
      vc = await swarm.create({ workers: Math.min(o.threads, o.workers - 1), minWorkers: 1, checkpoint: { intervalMs: o.checkpointIntervalMs } });
      const threads = Array.from({ length: o.threads }, () => vc!.spawn(job.crunch, ...args));
      const seen = threads.map((t) => observe(t));
      const results = await Promise.allSettled(threads.map((t) => t.result));
      await vc.close();
      vc = undefined;
      for (const [i, r] of results.entries()) {
        report.threads++;
        const ref = await references[i]!;
        const where = `round ${report.rounds} thread ${i}`;
        for (const m of seen[i]!.migrations) {
          report.migrations.total++;
          if (m.fromCheckpoint) report.migrations.fromCheckpoint++;
          else report.migrations.fromArguments++;
        }
        if (r.status === 'rejected') report.mismatches.push(`${where}: failed: ${(r.reason as Error).message}`);
        else if (JSON.stringify(r.value) !== JSON.stringify(ref.result)) report.mismatches.push(`${where}: result ${JSON.stringify(r.value)} != ${JSON.stringify(ref.result)}`);
        if (JSON.stringify(seen[i]!.progress) !== JSON.stringify(ref.progress)) {
          const got = seen[i]!.progress.length;
          report.mismatches.push(`${where}: ${got} progress values differ from the undisturbed run's ${ref.progress.length}`);
        }
      }
      log(`round ${report.rounds} done: ${report.mismatches.length} mismatch(es) so far, ${report.kills.sigkill + report.kills.sigterm} kill(s)`);
    }
  } finally {
    stop = true;
    await killer;
    await Promise.all(replacements);
    await vc?.close();
    await chain.catch(() => {});
    await swarm.stop();
  }
  report.durationMs = Date.now() - started;
  report.ok = report.mismatches.length === 0;
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      workers: { type: 'string' },
      threads: { type: 'string' },
      steps: { type: 'string' },
      work: { type: 'string' },
      'min-gap': { type: 'string' },
      'max-gap': { type: 'string' },
      'term-ratio': { type: 'string' },
      'checkpoint-interval': { type: 'string' },
      seed: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
    return n;
  };
  const report = await runChaos({
    durationS: num(values.duration),
    workers: num(values.workers),
    threads: num(values.threads),
    steps: num(values.steps),
    work: num(values.work),
    minGapMs: num(values['min-gap']),
    maxGapMs: num(values['max-gap']),
    termRatio: num(values['term-ratio']),
    checkpointIntervalMs: num(values['checkpoint-interval']),
    seed: num(values.seed),
    verbose: values.quiet !== true,
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
