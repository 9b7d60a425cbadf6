/**
 * The daemon's handle on one sandboxed executor process (executor-process.ts is its inside): started for one
 * owner, never shared with another, kept warm between that owner's threads. Each thread gets a fresh worker in it
 * through {@link ExecutorProcess.openPort}, which SlotWorker drives exactly like a worker thread of the daemon.
 *
 * What a thread writes to stdout and stderr goes to the daemon's, up to the output limit per placement; the rest is
 * dropped with one warning, so a thread cannot fill the donor's logs or disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { compiledPackageFile, packageRoot } from '../../protocol/package-files.ts';
import type { Logger } from '../../protocol/log.ts';
import { ResourceLimitError } from '../../runtime/errors.ts';
import type { FromWorker, ToWorker } from '../../runtime/worker-messages.ts';
import type { ThreadPort } from './frame-runner.ts';
import type { FromExecutor, ToExecutor } from './executor-process.ts';
import { executorCommand, type SandboxLimits, type SandboxPlan } from './sandbox.ts';
import { ExecutorCrashError } from '../errors.ts';

const entry = fileURLToPath(compiledPackageFile('daemon/host/executor-process.js'));

export class ExecutorProcess {
  readonly owner: string;
  readonly #child: ChildProcess;
  readonly #limits: SandboxLimits;
  readonly #log: Logger | undefined;
  /** Workers opened and not yet exited, by generation (at most two: one ending, one starting). */
  readonly #ports = new Map<number, ThreadPort & { gone: boolean; gen: number }>();
  #gen = 0;
  #alive = true;
  #exit: string | undefined;
  #output = 0;
  #outputWarned = false;
  /** Resolves once the process has loaded its runtime (or died trying). */
  readonly booted: Promise<void>;

  constructor(plan: SandboxPlan, limits: SandboxLimits, owner: string, assemblyDir: string, log?: Logger) {
    this.owner = owner;
    this.#limits = limits;
    this.#log = log;
    mkdirSync(assemblyDir, { recursive: true });
    if (!existsSync(entry)) throw new ExecutorCrashError(`the compiled executor ${entry} is missing: run \`npm run build\` in ${packageRoot()}`);
    const cmd = executorCommand(plan, limits, entry, assemblyDir);
    this.#child = spawn(cmd.command, cmd.args, {
      env: cmd.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      // A process group of its own: Ctrl-C at the daemon's terminal must reach the daemon (which migrates the threads
      // first), not kill the executors under them. A closed IPC pipe still ends the process when the daemon dies.
      detached: true,
    });
    this.#pipe(this.#child.stdout!, process.stdout);
    this.#pipe(this.#child.stderr!, process.stderr);
    let booted!: () => void;
    this.booted = new Promise<void>((r) => (booted = r));
    this.#child.on('message', (m: FromExecutor) => {
      if (m.c === 'booted') booted();
      else if (m.c === 'msg') this.#ports.get(m.gen)?.onMessage(m.m);
      else if (m.c === 'exit') this.#workerExit(m);
    });
    this.#child.on('error', (err) => {
      this.#exit = `the executor process could not start: ${err.message}`;
      this.#log?.error(this.#exit);
    });
    this.#child.on('exit', (code, signal) => {
      this.#alive = false;
      booted();
      this.#exit ??= signal !== null ? `the executor process was killed by ${signal}` : `the executor process exited with code ${String(code)}`;
      const ports = [...this.#ports.values()];
      this.#ports.clear();
      for (const port of ports) {
        port.gone = true;
        port.onExit(code ?? 1, new ExecutorCrashError(this.#exit));
      }
    });
    this.#child.unref();
    (this.#child as unknown as { channel?: { unref(): void } }).channel?.unref();
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** A fresh worker in this process for the next thread; the previous one must be gone. */
  openPort(): ThreadPort {
    if (!this.#alive) throw new ExecutorCrashError(this.#exit ?? 'the executor process is gone');
    this.#output = 0;
    this.#outputWarned = false;
    const gen = ++this.#gen;
    this.#send({ c: 'open', gen, heapMb: this.#limits.heapMb, memoryMb: this.#limits.memoryMb, ...(this.#limits.cpuSeconds !== undefined ? { cpuSeconds: this.#limits.cpuSeconds } : {}) });
    const child = this.#child;
    const channel = (child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    const port: ThreadPort & { gone: boolean; gen: number } = {
      gone: false,
      gen,
      post: (m: ToWorker) => this.#send({ c: 'post', m }),
      setSnapshotRequest: (on) => {
        if (on) this.#send({ c: 'snapshot' });
      },
      ref: () => {
        child.ref();
        channel?.ref();
      },
      unref: () => {
        child.unref();
        channel?.unref();
      },
      terminate: () => {
        if (port.gone || !this.#alive) return Promise.resolve();
        this.#send({ c: 'close', gen });
        return new Promise<void>((resolve) => {
          const prev = port.onExit;
          port.onExit = (code, err) => {
            prev(code, err);
            resolve();
          };
        });
      },
      onMessage: (_m: FromWorker) => {},
      onExit: () => {},
    };
    this.#ports.set(gen, port);
    return port;
  }

  /** Ends the process (its thread, if any, with it). */
  kill(): void {
    if (this.#alive) this.#child.kill('SIGKILL');
  }

  #send(m: ToExecutor): void {
    if (!this.#alive || !this.#child.connected) return;
    this.#child.send(m, (err) => {
      if (err !== null && err !== undefined) this.#log?.debug(`executor ${String(this.#child.pid)}: send failed: ${err.message}`);
    });
  }

  #workerExit(m: Extract<FromExecutor, { c: 'exit' }>): void {
    const port = this.#ports.get(m.gen);
    if (port === undefined) return;
    this.#ports.delete(m.gen);
    port.gone = true;
    let err: Error | undefined;
    if (m.limit !== undefined) err = new ResourceLimitError(m.limit.limit, `Resource limit: ${m.limit.message}.`);
    else if (m.error !== undefined) err = new ExecutorCrashError(`the thread's worker failed: ${m.error.name}: ${m.error.message}`);
    port.onExit(m.code, err);
  }

  #pipe(from: Readable, to: Writable): void {
    from.on('data', (chunk: Buffer) => {
      if (this.#output >= this.#limits.outputBytes) return;
      this.#output += chunk.length;
      if (this.#output <= this.#limits.outputBytes) {
        to.write(chunk);
      } else if (!this.#outputWarned) {
        this.#outputWarned = true;
        this.#log?.warn(`a thread of owner ${this.owner} wrote more than ${this.#limits.outputBytes} bytes of output; the rest of it is dropped`);
      }
    });
  }
}
