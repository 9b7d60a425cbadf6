/** The embedded local swarm: no set-up for the application, and no process left behind however it ends. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { VirtualComputer } from '../../src/client/index.ts';
import { alive, buildFixtures, eventually } from './helpers.ts';
import type * as Threads from './fixtures/threads.ts';
import { childNodeOptions } from '../../src/protocol/package-files.ts';


describe('the embedded local swarm', () => {
  it('starts one child peer per worker, runs threads on them, and leaves no process after close()', async () => {
    const fx = (await import(join(await buildFixtures('embedded'), 'threads.js'))) as typeof Threads;
    const vc = await VirtualComputer.create({ workers: 2 });
    const pids = [...vc.embeddedPeerPids];
    expect(pids).toHaveLength(2);
    expect(vc.workers).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const results = await Promise.all([vc.spawn(fx.whereAmI, 300), vc.spawn(fx.whereAmI, 300)].map((t) => t.result));
    expect(new Set(results.map((r) => r.pid))).toEqual(new Set(pids));
    const dir = vc.embeddedSwarmDir!;
    expect(existsSync(dir)).toBe(true);
    await vc.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await vc.close(); // twice is fine
  });

  it('leaves no child peer behind when the application is killed with SIGKILL', async () => {
    const built = join(await buildFixtures('embedded-app'), 'threads.js');
    const app = spawn(process.execPath, [...childNodeOptions(), join(import.meta.dirname, 'fixtures/embedded-app.ts'), built], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: app.stdout }).once('line', resolve);
      app.once('exit', (code) => reject(new Error(`the application exited with ${code} before it was ready`)));
    });
    const { pids } = JSON.parse(line) as { pids: number[] };
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const { dir } = JSON.parse(line) as { dir: string };
    expect(existsSync(dir)).toBe(true);
    app.kill('SIGKILL');
    expect(await eventually(() => pids.every((pid) => !alive(pid)), 5000)).toBe(true);
    // The children also removed the swarm's files, which the killed application could not.
    expect(existsSync(dir)).toBe(false);
  });
});
