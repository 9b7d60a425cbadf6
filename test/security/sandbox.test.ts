/**
 * The donor's sandbox (issue 16): what a hostile thread can do on a peer that runs it, for each sandboxed mode.
 *
 * Three real daemons on loopback: two controllers with no slots (owners A and B: each application's controller is
 * the owner its threads run for) and one host with two slots, started with low limits. Every probe runs on the host.
 * Before the sandbox, every one of these succeeded: the thread read /etc/passwd and the daemon's identity key, wrote
 * into another owner's cached code, started `id`, connected to the daemon's port, allocated 2 GiB, spun forever, and
 * `process.kill(process.pid)` took the whole daemon down (and, resumed elsewhere, the next one).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceLimitError, ThreadCrashedError, ThreadError, VirtualComputer } from '../../src/client/index.ts';
import { planSandbox } from '../../src/daemon/host/sandbox.ts';
import { alive, buildFixtures, TestSwarm } from '../client/helpers.ts';
import type * as Threads from './fixtures/sandbox-threads.ts';

/** bubblewrap runs here (CI installs it: .ci/run); without it only `process` can be checked, and this says so. */
const strictWorks = (() => {
  try {
    return planSandbox('strict', false).mode === 'strict';
  } catch (err) {
    console.warn(`sandbox.test.ts: --sandbox strict is not checked on this machine: ${(err as Error).message}`);
    return false;
  }
})();

const CPU_LIMIT_S = 1;
const MEMORY_LIMIT_MB = 768;

for (const mode of ['strict', 'process'] as const) {
  describe.skipIf(mode === 'strict' && !strictWorks)(`--sandbox ${mode}: a hostile thread on a donor's peer`, () => {
    const swarm = new TestSwarm();
    let fx: typeof Threads;
    let a: VirtualComputer;
    let b: VirtualComputer;
    let hostDir: string;
    let hostPid: number;
    let hostPort: number;

    beforeAll(async () => {
      const [, mod] = await Promise.all([swarm.start(2, { slots: 0, sandbox: mode }), buildFixtures(`sandbox-${mode}`, join(import.meta.dirname, 'fixtures/sandbox-threads.ts'))]);
      fx = (await import(join(mod, 'sandbox-threads.js'))) as typeof Threads;
      const [host] = await swarm.start(1, { slots: 2, sandbox: mode, config: { maxThreadCpuSeconds: CPU_LIMIT_S, maxMemoryMb: MEMORY_LIMIT_MB } });
      hostDir = join(swarm.dir, 'peer-2');
      hostPid = host!.pid;
      hostPort = Number(new URL(host!.url).port);
      const owner = (controller: number): Promise<VirtualComputer> =>
        VirtualComputer.create({
          controller: swarm.peers[controller]!.url,
          swarmKey: swarm.key,
          workers: 1,
          enrolTimeoutMs: 10_000,
          identity: generateKeyPairSync('ed25519').privateKey,
        });
      [a, b] = await Promise.all([owner(0), owner(1)]);
    }, 120_000);
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await swarm.stop();
    });

    it('runs ordinary thread code', async () => {
      expect(await a.spawn(fx.add, 2, 3).result).toBe(5);
    });

    it('denies reading files outside the code: /etc/passwd, the daemon identity key, /proc/self/cmdline', async () => {
      for (const path of ['/etc/passwd', join(hostDir, 'identity.key'), '/proc/self/cmdline']) {
        const probe = await a.spawn(fx.readPath, path).result;
        expect(probe, path).toMatchObject({ ok: false });
      }
    });

    it('denies writing files, /tmp included', async () => {
      for (const path of [join(hostDir, 'planted.txt'), '/tmp/ppp2p-planted.txt']) {
        expect(await a.spawn(fx.writePath, path, 'x').result, path).toMatchObject({ ok: false });
      }
    });

    it('denies starting child processes', async () => {
      expect(await a.spawn(fx.runChild).result).toMatchObject({ ok: false, code: 'ERR_ACCESS_DENIED' });
    });

    it.runIf(mode === 'strict')('cannot reach the network: the daemon\'s own port is unreachable', async () => {
      const probe = await a.spawn(fx.connectTo, '127.0.0.1', hostPort).result;
      expect(probe.ok).toBe(false);
    });

    it.runIf(mode === 'strict')('runs as nobody in a pid namespace of its own', async () => {
      const me = await a.spawn(fx.whoAmI).result;
      expect(me.uid).toBe(65534);
      expect(me.pid).not.toBe(hostPid);
      expect(me.pid).toBeLessThan(10);
    });

    it("cannot overwrite another owner's cached code, and code changed on disk is installed again from its bytes", async () => {
      expect(await b.spawn(fx.add, 2, 3).result).toBe(5);
      const bDir = join(hostDir, 'assemblies', swarm.peers[1]!.peerId);
      const [file] = readdirSync(bDir).filter((f) => f.endsWith('.mjs'));
      const victim = join(bDir, file!);
      const poison = 'export async function add() { return "PWNED"; }\n';
      expect(await a.spawn(fx.writePath, victim, poison).result).toMatchObject({ ok: false });
      expect(await a.spawn(fx.readPath, victim).result).toMatchObject({ ok: false });
      // A local attacker (or a disk) changes the installed file: the next load checks its digest and re-installs.
      writeFileSync(victim, `${readFileSync(victim, 'utf8')}\nthrow new Error('tampered');\n`);
      expect(await b.spawn(fx.add, 2, 3).result).toBe(5);
      expect(readFileSync(victim, 'utf8')).not.toContain('tampered');
    });

    it(`stops a thread that allocates 2 GiB at the executor's ${MEMORY_LIMIT_MB} MB limit with a ResourceLimitError`, async () => {
      const err = await a.spawn(fx.allocate, 2048).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ResourceLimitError);
      expect(err).toMatchObject({ limit: 'memory', peer: swarm.peers[2]!.peerId });
      expect(alive(hostPid)).toBe(true);
    });

    it(`stops a busy loop at its CPU limit of ${CPU_LIMIT_S} s with a ResourceLimitError`, async () => {
      const started = Date.now();
      const err = await a.spawn(fx.spin).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ResourceLimitError);
      expect(err).toMatchObject({ limit: 'cpu' });
      expect((err as Error).message).toMatch(/CPU seconds/);
      // Bounded by the limit itself: the loop cannot have used less CPU than the limit before it was stopped.
      expect(Date.now() - started).toBeGreaterThanOrEqual(CPU_LIMIT_S * 1000);
    });

    it('a thread that kills its executor costs that executor, never the daemon, and fails after 3 crashes with the reasons', async () => {
      const err = await a.spawn(fx.killSelf).result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ThreadCrashedError);
      expect(err).toBeInstanceOf(ThreadError);
      const reasons = (err as ThreadCrashedError).reasons;
      expect(reasons).toHaveLength(3);
      for (const r of reasons) expect(r).toMatch(/SIGKILL|killed|exited/);
      expect(alive(hostPid)).toBe(true);
      // The peer runs the next thread as before.
      expect(await a.spawn(fx.add, 40, 2).result).toBe(42);
    });
  });
}
