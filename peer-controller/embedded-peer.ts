/**
 * A peer in a child process whose life is tied to its parent's: the embedded local swarm's workers (and the
 * integration tests' daemons) run here.
 *
 * The parent starts it with {@link startPeerProcess}. The configuration, swarm key included, arrives as the
 * first line of stdin (never on the command line, where `ps` shows it to every user); the child answers with
 * the same `{"event":"listening","url","peerId"}` line as `ppp2p peer`, on stdout. From then on the child
 * watches stdin: a `stop` line asks it to stop; stdin closing without one means the parent is gone (however it
 * died, SIGKILL included: the kernel closes the pipe), and the child stops, removes what the parent left
 * behind (`orphanCleanup`) and exits. No process outlives its application.
 *
 * The child is a full daemon: a PeerController with the virtual-computer layer attached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { PeerController, tuneDaemonProcess } from './peer.ts';
import { VirtualComputerLayer } from './deployer.ts';
import type { LogLevel } from './log.ts';

/** What the parent sends as the first line of the child's stdin. */
export interface PeerProcessConfig {
  /** The swarm key, base64. */
  swarmKey: string;
  join?: string[];
  host?: string;
  port?: number;
  /** The URL other peers dial, when it is not the listening address (a relay or a port forward in front). */
  advertiseUrl?: string;
  /** Slots (threads at once). @default CPU cores */
  slots?: number;
  dataDir?: string;
  /** Remove `dataDir` when the child exits (it belongs to this child only). @default false */
  removeDataDir?: boolean;
  logLevel?: LogLevel;
  peerId?: string;
  /** Heap limit per thread in MB. @default 512 */
  memoryLimitMb?: number;
  /** Paths to remove when the parent dies without stopping this child (files the parent can no longer remove). */
  orphanCleanup?: string[];
}

/** A running child peer. */
export interface PeerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly peerId: string;
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>;
  /** Asks the child to stop (closes its stdin) and waits for it to exit; kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const selfPath = fileURLToPath(import.meta.url);
/** Loader that lets a plain `node` run this TypeScript file (the child imports .ts files). */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

/**
 * Starts a child peer and resolves once it listens. Output of thread code in the child (console.log in a
 * virtual thread) is forwarded to this process's stdout and stderr unless `output` says otherwise.
 */
export function startPeerProcess(
  config: PeerProcessConfig,
  output: {
    stdout?: NodeJS.WritableStream | null;
    stderr?: 'inherit' | 'ignore';
    /**
     * A command the node process is started through, e.g. `['ip', 'netns', 'exec', 'h1']` to put the peer on
     * a simulated host, or a shell that enters a cgroup and `exec`s the rest. It must exec its arguments.
     */
    launcher?: readonly string[];
    /** Extra node (and V8) options for the child, e.g. `['--trace-deopt']` to diagnose it. */
    nodeArgs?: readonly string[];
  } = {},
): Promise<PeerProcess> {
  const argv = [process.execPath, ...(output.nodeArgs ?? []), '--enable-source-maps', '--import', tsxLoader, selfPath];
  const [command, ...args] = [...(output.launcher ?? []), ...argv] as [string, ...string[]];
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', output.stderr ?? 'inherit'],
    // The child must not keep the parent's event loop alive, nor die with the parent's terminal group on ^C
    // before the parent had a chance to stop it cleanly: stdin closing is the only signal it needs.
    detached: false,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.on('error', () => {}); // the child may be gone already
  child.stdin!.write(`${JSON.stringify(config)}\n`);
  return new Promise<PeerProcess>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let listening = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (!listening) reject(new Error(`The peer process exited (${signal ?? `code ${code}`}) before it was listening; see its log above.`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => reject(err));
    const forward = output.stdout === undefined ? process.stdout : output.stdout;
    lines.on('line', (line) => {
      if (listening) {
        forward?.write(`${line}\n`);
        return;
      }
      let event: { event?: unknown; url?: unknown; peerId?: unknown };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        forward?.write(`${line}\n`);
        return;
      }
      if (event.event !== 'listening' || typeof event.url !== 'string' || typeof event.peerId !== 'string') return;
      listening = true;
      child.off('exit', onExit);
      // From here on the child only keeps the parent alive while the parent holds it on purpose.
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      const url = event.url;
      const peerId = event.peerId;
      resolve({
        child,
        pid: child.pid!,
        url,
        peerId,
        exited,
        async stop(graceMs = 3000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          // 'stop' tells a deliberate stop from the parent's death (stdin closing with no word).
          child.stdin!.end('stop\n');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        },
      });
    });
  });
}

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
    peerId: config.peerId,
  });
  const layer = VirtualComputerLayer.attach(pc, { memoryLimitMb: config.memoryLimitMb });
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
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: pc.url, peerId: pc.id })}\n`);
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err: unknown) => {
    process.stderr.write(`embedded peer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
