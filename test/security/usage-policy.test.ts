/**
 * The donor's usage policy on a real `ppp2p peer --config` (issue 16 item 5): outside its hours the peer takes no
 * threads, with the reason given to the application; owners it blocks are refused; SIGHUP reloads the file and the
 * peer takes work again; a file that does not parse on reload is logged and the last good policy stays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrolmentError, VirtualComputer } from '../../src/client/index.ts';
import { NODE, cliArgs } from '../support/cli.ts';
import { buildFixtures, TestSwarm } from '../client/helpers.ts';
import type * as Threads from './fixtures/sandbox-threads.ts';

/** A window that is never now: the whole week but the current hour and the next one (local time). */
function hoursExcludingNow(): string[] {
  const now = new Date();
  const start = (now.getHours() + 2) % 24;
  const end = now.getHours();
  const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;
  return [`Mon-Sun ${hh(start)}-${hh(end === 0 ? 24 : end)}`];
}

describe('ppp2p peer --config: the usage policy of a donor', () => {
  const swarm = new TestSwarm();
  let fx: typeof Threads;
  let donor: ChildProcess;
  let donorId: string;
  let stderr = '';
  const policyFile = (): string => join(swarm.dir, 'policy.json');

  beforeAll(async () => {
    const [, out] = await Promise.all([swarm.start(1, { slots: 0 }), buildFixtures('usage-policy', join(import.meta.dirname, 'fixtures/sandbox-threads.ts'))]);
    fx = (await import(join(out, 'sandbox-threads.js'))) as typeof Threads;
    writeFileSync(policyFile(), JSON.stringify({ hours: hoursExcludingNow(), slots: 1 }));
    writeFileSync(join(swarm.dir, 'swarm.key'), swarm.key.toString('base64'));
    donor = spawn(
      NODE,
      cliArgs('peer', '--swarm-key-file', join(swarm.dir, 'swarm.key'), '--port', '0', '--join', swarm.peers[0]!.url, '--config', policyFile(), '--data-dir', join(swarm.dir, 'donor'), '--sandbox', 'process'),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    donor.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: donor.stdout! }).once('line', resolve);
      donor.once('exit', (code) => reject(new Error(`ppp2p peer exited with ${String(code)}: ${stderr}`)));
    });
    donorId = (JSON.parse(line) as { peerId: string }).peerId;
    await swarm.waitForMembers(2);
  }, 60_000);
  afterAll(async () => {
    donor?.kill('SIGKILL');
    await swarm.stop();
  });

  const create = (): Promise<VirtualComputer> => VirtualComputer.create({ controller: swarm.peers[0]!.url, swarmKey: swarm.key, workers: 1, enrolTimeoutMs: 3000 });

  it('says at start which sandbox layers and which policy are in force', () => {
    expect(stderr).toMatch(/sandbox process: .*permission model/);
    expect(stderr).toMatch(/usage policy: .*hours/i);
  });

  it('outside its hours, refuses enrolment and the application hears why', async () => {
    const err = await create().then(
      (vc) => vc.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EnrolmentError);
    expect(String((err as Error).message)).toMatch(/outside the hours/);
  });

  it('after SIGHUP with hours that include now, runs threads; with the owner blocked, refuses them again', async () => {
    writeFileSync(policyFile(), JSON.stringify({ slots: 1 }));
    donor.kill('SIGHUP');
    await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/usage policy reloaded/);
    const vc = await create();
    try {
      expect(vc.workers.map((w) => w.id)).toEqual([donorId]);
      expect(await vc.spawn(fx.add, 2, 3).result).toBe(5);
    } finally {
      await vc.close();
    }
    writeFileSync(policyFile(), JSON.stringify({ blockOwners: [swarm.peers[0]!.peerId] }));
    donor.kill('SIGHUP');
    await expect.poll(() => stderr.match(/usage policy reloaded/g)?.length ?? 0, { timeout: 10_000 }).toBe(2);
    const err = await create().then(
      (v) => v.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(String((err as Error | undefined)?.message)).toMatch(/does not run threads of owner/);
  });

  it('keeps the last good policy when the reloaded file is broken, and says so', async () => {
    writeFileSync(policyFile(), '{ "hours": [');
    donor.kill('SIGHUP');
    await expect.poll(() => stderr, { timeout: 10_000 }).toMatch(/policy\.json.*(JSON|kept|keep)/i);
    expect(donor.exitCode).toBeNull();
  });
});
