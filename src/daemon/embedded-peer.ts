/**
 * A peer in a child process whose life is tied to its parent's: the embedded local swarm's controller and workers
 * (and the integration tests' daemons) run here.
 *
 * The parent starts it with `startPeerProcess` (client/peer-process.ts). The configuration, swarm key included, arrives as the
 * first line of stdin (never on the command line, where `ps` shows it to every user); the child answers with
 * the same `{"event":"listening","url","peerId"}` line as `ppp2p peer`, on stdout. From then on the child
 * watches stdin: a `stop` line asks it to stop; stdin closing without one means the parent is gone (however it
 * died, SIGKILL included: the kernel closes the pipe), and the child stops, removes what the parent left
 * behind (`orphanCleanup`) and exits. No process outlives its application.
 *
 * The child is a full daemon: a PeerController with the virtual-computer layer attached.
 */
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { PeerController, tuneDaemonProcess } from './peer-controller.ts';
import { VirtualComputerLayer } from './virtual-computer-layer.ts';
import { limitsOf, planSandbox } from './host/sandbox.ts';
import type { ListeningEvent, PeerProcessConfig } from '../protocol/peer-process.ts';

/** The child's side: read the configuration, run the peer until stdin closes or a signal arrives. */
async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const first = await new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    lines.once('close', () => resolve(undefined));
  });
  if (first === undefined) process.exit(0); // the parent died before it said anything
  const config = JSON.parse(first) as PeerProcessConfig;
  tuneDaemonProcess();
  const pc = await PeerController.start({
    swarmKey: Buffer.from(config.swarmKey, 'base64'),
    host: config.host ?? '127.0.0.1',
    port: config.port ?? 0,
    advertiseUrl: config.advertiseUrl,
    join: config.join ?? [],
    slots: config.slots,
    dataDir: config.dataDir,
    logLevel: config.logLevel ?? 'warn',
  });
  const sandbox = planSandbox(config.sandbox, config.trustedSwarm ?? false);
  const layer = VirtualComputerLayer.attach(pc, {
    memoryLimitMb: config.memoryLimitMb,
    sandbox,
    limits: limitsOf(config),
    ...(config.maxErrors !== undefined ? { maxErrors: config.maxErrors } : {}),
  });
  pc.log.debug(`sandbox ${sandbox.mode}: ${sandbox.layers.join('; ')}${sandbox.missing.length > 0 ? `; missing: ${sandbox.missing.join('; ')}` : ''}`);
  process.on('unhandledRejection', (reason) => {
    pc.log.error(`unhandled rejection (the peer keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  });
  let stopping = false;
  const stop = (why: string, orphaned: boolean, migrate = false): void => {
    if (stopping) return;
    stopping = true;
    pc.log.info(`stopping: ${why}`);
    const cleanup = (): void => {
      if (config.removeDataDir === true && config.dataDir !== undefined) rmSync(config.dataDir, { recursive: true, force: true });
      if (orphaned) for (const path of config.orphanCleanup ?? []) rmSync(path, { recursive: true, force: true });
    };
    // Never linger: a peer whose parent is gone must be gone too, even if a clean stop hangs.
    const stopped = (): void => {
      setTimeout(() => {
        cleanup();
        process.exit(0);
      }, 2000).unref();
    };
    if (!migrate) stopped();
    void (async () => {
      // SIGTERM: a graceful leave, threads migrate first (bounded by the worker's leave timeout).
      if (migrate) await layer.leave().catch(() => {});
      if (migrate) stopped();
      await layer.close().catch(() => {});
      await pc.stop().catch(() => {});
      cleanup();
      process.exit(0);
    })();
  };
  lines.on('line', (line) => {
    if (line.trim() === 'stop') stop('asked to by the parent process', false);
  });
  lines.on('close', () => stop('the parent process is gone (stdin closed)', true));
  process.on('SIGTERM', () => stop('SIGTERM: migrating this peer\'s threads, then leaving', false, true));
  process.on('SIGINT', () => stop('SIGINT', false));
  const listening: ListeningEvent = { event: 'listening', url: pc.url, peerId: pc.id };
  process.stdout.write(`${JSON.stringify(listening)}\n`);
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err: unknown) => {
    process.stderr.write(`embedded peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
