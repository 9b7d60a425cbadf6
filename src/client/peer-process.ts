/**
 * Starts a peer in a child process whose life is tied to this one's: the embedded local swarm's controller and
 * workers (and the integration tests' daemons). The child's side is daemon/embedded-peer.ts; what they say to each
 * other is protocol/peer-process.ts. The configuration, swarm key included, goes over stdin; stdin closing without
 * a `stop` line means this process is gone (however it died, SIGKILL included: the kernel closes the pipe), and the
 * child stops, removes what this process left behind (`orphanCleanup`) and exits. No process outlives its application.
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nodeCommandFor } from '../protocol/package-files.ts';
import type { PeerProcessConfig } from '../protocol/peer-process.ts';

export type { PeerProcessConfig };

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
  const [node, ...entry] = nodeCommandFor('daemon/embedded-peer.js');
  const argv = [node, ...(output.nodeArgs ?? []), ...entry];
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
