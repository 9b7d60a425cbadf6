/**
 * bench/failover: time from SIGKILL of a thread's worker to the thread running again on another peer, over
 * repeated kills on loopback, and what its checkpoints cost (bytes, transfer time).
 *
 * ```sh
 * npx tsx --conditions=ppp2p-source bench/failover.ts [--kills 20] [--workers 3] [--interval 1000] [--ballast-kb 0]
 * ```
 * Setup: an owner controller (no slots) and `workers` one-slot worker processes; one long checkpointing thread
 * (test/fault-tolerance/fixtures/src/crunch.ts, built by `ppp2p build`). Each round waits until the thread's
 * current placement has an acknowledged checkpoint, SIGKILLs its worker, and measures, from the kill:
 * - `detected_ms`: the application's 'migrated' event (failure detected, thread placed elsewhere);
 * - `running_ms`: the first round of the job executed by the new worker (the thread appends each round with its
 *   pid and wall time to a trace file: the resumed thread running again, before any replayed round is sent);
 * - `new_progress_ms`: the first progress value the application had not seen before (replay included).
 * A replacement peer then joins so that every round starts from the same swarm size.
 *
 * Then the checkpoint cost on a realistic run: one TSP island (samples/tsp, kroA100, `generations`) with the
 * default policy (a snapshot per second of run time) against the same island with checkpoints off, alternating,
 * `cost-runs` times each; plus the snapshot size, its encode time (what the thread waits for) and its transfer
 * time to the holder (which the thread does not wait for).
 * Prints one JSON object. Goals (issue 4): p50 of `running_ms` <= 1500 ms; checkpoint cost <= 2% of run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildCrunch, FaultSwarm, sleep } from '../test/fault-tolerance/helpers.ts';
import { loadBuiltIsland } from '../samples/tsp/built-island.ts';
import { loadTsplib } from '../samples/tsp/tsplib.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    workers: { type: 'string', default: '3' },
    interval: { type: 'string', default: '1000' },
    'ballast-kb': { type: 'string', default: '0' },
    generations: { type: 'string', default: '2500' },
    'cost-runs': { type: 'string', default: '3' },
    'skip-cost': { type: 'boolean', default: false },
  },
  strict: true,
});
const KILLS = Number(values.kills);
const WORKERS = Number(values.workers);
const INTERVAL_MS = Number(values.interval);
const BALLAST_KB = Number(values['ballast-kb']);
const GENERATIONS = Number(values.generations);
const COST_RUNS = Number(values['cost-runs']);

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function summary(xs: number[]): { p50: number; p95: number; min: number; max: number; n: number } {
  const r = (v: number): number => Math.round(v);
  return { p50: r(percentile(xs, 50)), p95: r(percentile(xs, 95)), min: r(Math.min(...xs)), max: r(Math.max(...xs)), n: xs.length };
}

const job = await buildCrunch();
const swarm = await FaultSwarm.start({ workers: WORKERS });
const trace = join(swarm.dir, 'trace.txt');
const vc = await swarm.create({ workers: WORKERS, checkpoint: { intervalMs: INTERVAL_MS } });
const detected: number[] = [];
const running: number[] = [];
const newProgress: number[] = [];
const fromCheckpoint: boolean[] = [];
const resumedOnHolder: boolean[] = [];
const bytes: number[] = [];
const transferMs: number[] = [];
try {
  // Effectively endless: about 6.5 ms of CPU per round; cancelled at the end.
  const t = vc.spawn(job.crunch, 10_000_000, 40_000, 0, BALLAST_KB, trace);
  let lastStep = -1;
  let onNewProgress: ((at: number) => void) | undefined;
  t.on('progress', (p) => {
    const step = (p as { step: number }).step;
    if (step > lastStep) {
      lastStep = step;
      onNewProgress?.(Date.now());
    }
  });
  for (let round = 1; round <= KILLS; round++) {
    // The current placement has an acknowledged checkpoint (at least a round old, not just the one it resumed from).
    let host = '';
    let holders: string[] = [];
    await swarm.waitFor(
      async () => {
        const s = await swarm.thread(vc.id, 0);
        if (s?.state !== 'running' || s.host === undefined || s.checkpoint === undefined || s.checkpoint.epoch !== s.placements) return false;
        host = s.host;
        holders = s.checkpoint.holders;
        bytes.push(s.checkpoint.bytes);
        transferMs.push(s.checkpoint.transferMs);
        return true;
      },
      30_000,
      `a checkpoint of the current placement (round ${round})`,
    );
    const victim = swarm.peer(host);
    const migrated = new Promise<{ at: number; to: string; fromCheckpoint: boolean }>((resolve) =>
      t.once('migrated', (m) => resolve({ at: Date.now(), to: m.to, fromCheckpoint: m.fromCheckpoint })),
    );
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const m = await migrated;
    // Progress values the victim sent just before it died arrive within milliseconds of the kill, long before
    // the migration: from here on, a value not seen before comes from the new worker.
    const progressAt = await new Promise<number>((resolve) => (onNewProgress = resolve));
    onNewProgress = undefined;
    // The first round the new worker ran, from the trace (same machine, same clock).
    const next = swarm.peer(m.to);
    let first: string[] | undefined;
    await swarm.waitFor(
      () => {
        first = readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .find((f) => Number(f[2]) === next.pid && Number(f[3]) >= killedAt);
        return first !== undefined;
      },
      10_000,
      'the resumed thread in the trace',
    );
    detected.push(m.at - killedAt);
    running.push(Number(first![3]) - killedAt);
    newProgress.push(progressAt - killedAt);
    fromCheckpoint.push(m.fromCheckpoint);
    resumedOnHolder.push(holders.includes(m.to));
    process.stderr.write(
      `round ${round}: killed ${host}, running again on ${m.to} after ${running.at(-1)} ms (detected ${detected.at(-1)} ms, new progress ${newProgress.at(-1)} ms)\n`,
    );
    await victim.exited;
    await swarm.addWorkers(1);
    await sleep(200);
  }
  await t.cancel();
} finally {
  await vc.close();
  await swarm.stop();
}

/** Island run times with checkpoints on (default policy) and off, and what the snapshots cost. */
async function checkpointCost(): Promise<Record<string, unknown>> {
  const island = await loadBuiltIsland();
  const instance = loadTsplib(join(import.meta.dirname, '../samples/tsp/instances/kroA100.tsp'));
  const s = await FaultSwarm.start({ workers: 2 });
  const on: number[] = [];
  const off: number[] = [];
  const snapshots: { bytes: number; encodeMs: number; transferMs: number }[] = [];
  let checkpointsPerRun = 0;
  try {
    // Run -1 warms both workers up (assembly fetched and loaded); it is not counted.
    for (let i = -1; i < COST_RUNS * 2; i++) {
      const checkpoints = i % 2 === 0;
      // Off: a policy that is never due within the run. On: the default (no option: one per second of run time).
      const vcCost = await s.create({ workers: 2, ...(checkpoints ? {} : { checkpoint: { intervalMs: 3_600_000 } }) });
      const gens = i < 0 ? 50 : GENERATIONS;
      try {
        const t = vcCost.spawn(island, { instance, generations: gens, migration: 'none', seed: 1 });
        const startedAt = await new Promise<number>((resolve) => t.once('started', () => resolve(performance.now())));
        let last = -1;
        const poll = setInterval(() => {
          void s.thread(vcCost.id, 0).then((st) => {
            const ck = st?.checkpoint;
            if (checkpoints && ck !== undefined && ck.n !== last) {
              last = ck.n;
              snapshots.push({ bytes: ck.bytes, encodeMs: ck.encodeMs, transferMs: ck.transferMs });
            }
          });
        }, 200);
        await t.result;
        const ms = performance.now() - startedAt;
        clearInterval(poll);
        if (i >= 0) (checkpoints ? on : off).push(ms);
        if (checkpoints) checkpointsPerRun = Math.max(checkpointsPerRun, last);
        process.stderr.write(`island run ${i + 1}: checkpoints ${checkpoints ? 'on' : 'off'}, ${Math.round(ms)} ms\n`);
      } finally {
        await vcCost.close();
      }
    }
  } finally {
    await s.stop();
  }
  const onP50 = percentile(on, 50);
  const offP50 = percentile(off, 50);
  const encodeP50 = percentile(snapshots.map((x) => x.encodeMs), 50);
  return {
    run: `TSP island, kroA100, ${GENERATIONS} generations, default policy (1 snapshot per second of run time)`,
    run_ms_checkpoints_on: on.map(Math.round),
    run_ms_checkpoints_off: off.map(Math.round),
    measured_overhead_pct: Math.round(((onP50 - offP50) / offP50) * 1000) / 10,
    snapshots_per_run: checkpointsPerRun,
    snapshot_bytes_p50: percentile(snapshots.map((x) => x.bytes), 50),
    encode_ms_p50: Math.round(encodeP50 * 100) / 100,
    transfer_ms_p50: Math.round(percentile(snapshots.map((x) => x.transferMs), 50) * 100) / 100,
    // What the thread itself waits for per run: encoding each snapshot (the transfer runs beside it).
    thread_side_cost_pct: Math.round(((checkpointsPerRun * encodeP50) / offP50) * 10000) / 100,
    goal_pct: 2,
  };
}

const cost = values['skip-cost'] === true ? undefined : await checkpointCost();

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'failover',
      kills: KILLS,
      workers: WORKERS,
      checkpoint_interval_ms: INTERVAL_MS,
      running_again_ms: summary(running),
      detected_ms: summary(detected),
      new_progress_ms: summary(newProgress),
      resumed_from_checkpoint: fromCheckpoint.filter(Boolean).length,
      resumed_on_a_holder: resumedOnHolder.filter(Boolean).length,
      checkpoint_bytes: summary(bytes),
      checkpoint_transfer_ms: { p50: percentile(transferMs, 50), p95: percentile(transferMs, 95) },
      goal: { running_again_p50_ms: 1500, met: percentile(running, 50) <= 1500 },
      ...(cost !== undefined ? { checkpoint_cost: cost } : {}),
    },
    null,
    2,
  )}\n`,
);
