/**
 * One abusive client while a real job runs (issue 15, item 6): an authenticated application floods the owner's
 * controller with requests (`members`, `vc-status`, `echo` with values up to 4 KiB), keeping a window of them in
 * flight so that the controller always has more to read, for a bounded time, while a checkpointing `crunch`
 * thread runs on the workers.
 *
 * The flooder runs in a child process (flooder.ts); what is measured is the daemons: the thread's result and progress (computed
 * there), their membership views and log lines (no false death declaration), and their RSS, bounded by what the
 * transport limits let one connection cost (src/protocol/limits.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrunch, observe, referenceRun, type CrunchModule } from '../fault-tolerance/helpers.ts';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect } from '../../src/protocol/connection.ts';
import { childNodeOptions } from '../../src/protocol/package-files.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/protocol/codec.ts';
import { DEFAULT_MAX_BUFFERED_BYTES } from '../../src/protocol/limits.ts';
import { sleep } from './helpers.ts';
import { LiveSwarm, rssOf } from './live-swarm.ts';

const FLOOD_MS = Number(process.env.FLOOD_MS ?? 5000);
/** Requests the flooder keeps in flight. */
const WINDOW = 1000;
/** ~250 rounds of at least 40 ms, checkpointing every 150 ms: it runs through the whole flood. */
const JOB: [number, number, number] = [250, 20_000, 40];
/**
 * What one abusive connection may add to a daemon's memory: its unread output up to maxBufferedBytes plus one
 * frame of the maximum size (limits.ts: checked before each send), plus 64 MiB of headroom for V8's heap growing
 * under the load (the young generation and the garbage of the decoded requests). The read side is bounded by the
 * per-turn budget: a paused socket leaves the rest in the kernel.
 */
const HEAP_HEADROOM = 64 * 1024 * 1024;
const RSS_BOUND = DEFAULT_MAX_BUFFERED_BYTES + DEFAULT_MAX_FRAME_BYTES + HEAP_HEADROOM;
const MiB = 1024 * 1024;

let job: CrunchModule;
let live: LiveSwarm;

beforeAll(async () => {
  job = await buildCrunch();
  live = await LiveSwarm.start(3);
}, 120_000);

afterAll(async () => {
  await live?.stop();
});

describe('one abusive client while a real job runs', () => {
  it(
    "floods the controller: the job's result is identical, no peer is declared dead, RSS stays bounded",
    async () => {
      const expected = await referenceRun(0, [JOB[0], JOB[1]]);
      const vc = await live.create({ workers: 2, checkpoint: { intervalMs: 150 } });
      try {
        const t = vc.spawn(job.crunch, ...JOB);
        const seen = observe(t);
        await live.runningWithCheckpoint(vc.id, 0);
        const rssBefore = live.daemons.map(rssOf);

        const flooderArgs = [...childNodeOptions(), join(import.meta.dirname, 'flooder.ts'), live.controller.url, live.key.toString('base64'), String(FLOOD_MS), String(WINDOW)];
        const flooder = spawn(process.execPath, flooderArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        flooder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        const flooded = new Promise<void>((r) => flooder.once('exit', () => r()));
        const probe = await connect(live.controller.url, { swarmKey: live.key, role: 'client' });
        const started = Date.now();

        // The probe: echo and the membership, as another client of the same controller sees them during the flood.
        const rtts: number[] = [];
        const deadSeen = new Set<string>();
        let peakRss = rssBefore[0]!;
        // Until the flooder is done (its flood lasts FLOOD_MS, then it drains its window).
        while (flooder.exitCode === null && Date.now() - started < FLOOD_MS + 60_000) {
          const t0 = performance.now();
          await probe.request({ t: 'echo', value: 'probe' }, 30_000);
          rtts.push(performance.now() - t0);
          const members = await probe.request({ t: 'members' }, 30_000);
          for (const p of members.peers) if (p.state === 'dead') deadSeen.add(p.id);
          peakRss = Math.max(peakRss, rssOf(live.controller));
          await sleep(100);
        }
        const floodMs = Date.now() - started;
        await flooded;
        probe.close();
        const { sent, answered, failed, closed } = JSON.parse(out) as { sent: number; answered: number; failed: number; closed: unknown };
        const rssAfter = live.daemons.map(rssOf);

        const result = await t.result;
        const sorted = [...rtts].sort((a, b) => a - b);
        const views = await live.probe();
        const mib = (b: number): string => (b / MiB).toFixed(0);
        console.log(
          `[abusive client] ${sent} requests (${answered} answered, ${failed} failed${closed !== null ? `, closed ${JSON.stringify(closed)}` : ''}) in ${FLOOD_MS} ms (${floodMs} ms with the drain); probe echo p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms over ${rtts.length}; controller RSS ${mib(rssBefore[0]!)} MiB before, peak ${mib(peakRss)}, ${mib(rssAfter[0]!)} after (bound: +${mib(RSS_BOUND)} MiB); workers RSS ${rssBefore.slice(1).map(mib).join('/')} → ${rssAfter.slice(1).map(mib).join('/')} MiB`,
        );

        expect(result).toEqual(expected.result);
        expect(seen.progress).toEqual(expected.progress);
        expect(live.exited()).toEqual([]);
        expect([...deadSeen]).toEqual([]);
        for (const d of live.daemons) expect(d.stderr(), d.peerId).not.toMatch(/declared dead/);
        for (const [viewer, view] of views) {
          for (const d of live.daemons) expect(view.get(d.peerId), `${d.peerId} as ${viewer} sees it`).toBe('alive');
        }
        // The flood was a flood, and it was served.
        expect(answered).toBeGreaterThan(WINDOW);
        expect(peakRss - rssBefore[0]!).toBeLessThan(RSS_BOUND);
        expect(rssAfter[0]! - rssBefore[0]!).toBeLessThan(RSS_BOUND);
        expect(live.errors()).toEqual([]);
      } finally {
        await vc.close();
      }
    },
    180_000,
  );
});
