/**
 * Every failure of the real `ppp2p` command is one line on stderr (what, where, how to fix), a non-zero exit status
 * (2: a command line that cannot be run as given, 1: any other failure), no stack unless `--debug`, and an exit
 * within a bound: a failed `ppp2p peer` leaves no port bound.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, cliArgs } from '../support/cli.ts';
import { buildSources } from '../build/support/build.ts';
import { PeerController } from '../../src/daemon/peer-controller.ts';

/** Generous: a failure must end the process, however slow the machine; a hang shows as `timedOut`. */
const EXIT_BOUND_MS = 20_000;

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function ppp2p(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const env = { ...process.env, PPP2P_SWARM_KEY: '', ...opts.env };
    const child = spawn(NODE, cliArgs(...args), { cwd: opts.cwd ?? dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, EXIT_BOUND_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, timedOut });
    });
  });
}

/** Exits in time with `status`, and stderr is exactly one line, with no stack frame, naming `names` and matching `fix`. */
function expectOneLine(r: CliRun, status: number, names: string[], fix: RegExp): string {
  expect(r.timedOut, `did not exit within ${EXIT_BOUND_MS} ms; stderr: ${r.stderr}`).toBe(false);
  expect(r.stderr).toMatch(/^[^\n]+\n$/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.status, r.stderr).toBe(status);
  for (const n of names) expect(r.stderr).toContain(n);
  expect(r.stderr).toMatch(fix);
  return r.stderr.trimEnd();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether the port can be bound now (nothing of ours left holding it). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    const probe = join(path, `.probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let keyFile: string;
const swarmKey = Buffer.alloc(32, 7);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ppp2p-cli-errors-'));
  keyFile = join(dir, 'swarm.key');
  writeFileSync(keyFile, `${swarmKey.toString('base64')}\n`);
  writeFileSync(join(dir, 'a-file'), 'not a directory\n');
  writeFileSync(join(dir, 'short.key'), `${Buffer.alloc(10, 1).toString('base64')}\n`);
  writeFileSync(join(dir, 'other.key'), `${Buffer.alloc(32, 9).toString('base64')}\n`);
  writeFileSync(join(dir, 'junk.pem'), 'junk\n');
});

afterAll(() => {
  if (existsSync(join(dir, 'read-only'))) chmodSync(join(dir, 'read-only'), 0o700);
  rmSync(dir, { recursive: true, force: true });
});

describe('ppp2p peer: a start that fails says why in one line, exits, and leaves no port bound', () => {
  it('--data-dir under a regular file', async () => {
    const port = await freePort();
    const r = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', String(port), '--data-dir', 'a-file/data']);
    expectOneLine(r, 2, ['--data-dir a-file/data', 'a-file is a file'], /pass a directory this process can write to/);
    expect(await canBind(port)).toBe(true);
  });

  it('--data-dir in a directory it cannot write to', async () => {
    let target = join(dir, 'read-only');
    mkdirSync(target);
    chmodSync(target, 0o500);
    // As root a mode does not stop writes: use a directory the kernel refuses instead, when there is one.
    if (writable(target)) target = ['/sys', '/proc/self'].find((p) => existsSync(p) && !writable(p)) ?? '';
    if (target === '') return;
    const port = await freePort();
    const r = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', String(port), '--data-dir', target]);
    expectOneLine(r, 2, [`--data-dir ${target}`, 'cannot write in it'], /pass a directory this process can write to/);
    expect(await canBind(port)).toBe(true);
  });

  it.skipIf(!existsSync('/proc/self'))('--data-dir /proc/nope (where mkdir -p would loop forever)', async () => {
    const r = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', '0', '--data-dir', '/proc/nope']);
    expectOneLine(r, 2, ['--data-dir /proc/nope', 'cannot create the directory /proc/nope'], /pass a directory this process can write to/);
  });

  it('--host 256.1.1.1', async () => {
    const r = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', '0', '--host', '256.1.1.1']);
    expectOneLine(r, 2, ['--host 256.1.1.1'], /--host 127\.0\.0\.1/);
  });

  it('a junk PEM for --tls-cert and --tls-key', async () => {
    const r = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', '0', '--tls-cert', 'junk.pem', '--tls-key', 'junk.pem']);
    expectOneLine(r, 2, ['--tls-cert junk.pem', 'not a PEM certificate'], /BEGIN CERTIFICATE/);
  });

  it('--port out of range, --slots -1, an unknown flag, a flag without its value', async () => {
    const base = ['peer', '--swarm-key-file', keyFile];
    expectOneLine(await ppp2p([...base, '--port', '70000']), 2, ["'70000'"], /integer from 0 to 65535/);
    expectOneLine(await ppp2p([...base, '--slots', '-1']), 2, ["--slots must be an integer >= 0, got '-1'"], /ppp2p peer --help/);
    expectOneLine(await ppp2p([...base, '--bogus']), 2, ['unknown flag --bogus'], /known flags: .*ppp2p peer --help/);
    expectOneLine(await ppp2p(['peer', '--swarm-key-file']), 2, ['--swarm-key-file needs a value'], /ppp2p peer --help/);
  });

  it('--sandbox off without --trusted-swarm, an unknown sandbox mode, a bad limit, a bad --config file', async () => {
    const base = ['peer', '--swarm-key-file', keyFile, '--port', '0'];
    expectOneLine(await ppp2p([...base, '--sandbox', 'off']), 2, ['--sandbox off'], /add --trusted-swarm .* or use --sandbox process/);
    expectOneLine(await ppp2p([...base, '--sandbox', 'strcit']), 2, ['sandbox', '"strcit"'], /"strict"/);
    expectOneLine(await ppp2p([...base, '--max-thread-cpu', '0']), 2, ['--max-thread-cpu', "'0'"], /positive number of seconds/);
    writeFileSync(join(dir, 'policy-bad.json'), JSON.stringify({ hours: ['Mon-Fri 18:00-08:00', 'Someday 10:00-11:00'], slotz: 2 }));
    expectOneLine(await ppp2p([...base, '--config', 'policy-bad.json']), 2, ['policy-bad.json'], /slots|Mon/);
  });
});

describe('ppp2p status: a controller that refuses or is not there', () => {
  it('refuses the swarm key', async () => {
    const pc = await PeerController.start({ swarmKey, port: 0, slots: 0, logLevel: 'silent' });
    try {
      const r = await ppp2p(['status', '--controller', pc.url, '--swarm-key-file', 'other.key']);
      expectOneLine(r, 1, [`the controller at ${pc.url} refused the swarm key`, 'ERR_AUTH_FAILED'], /check that --swarm-key-file .* holds this swarm's key/);
    } finally {
      await pc.stop();
    }
  });

  it('has nothing listening on its port', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const r = await ppp2p(['status', '--controller', url, '--swarm-key-file', keyFile]);
    expectOneLine(r, 1, [url, 'ECONNREFUSED'], /check that --controller is the URL of a running ppp2p peer/);
  });
});

describe('swarm keys, build and run', () => {
  // These four were one line before this change already; they stay so.
  it('a missing swarm key file, a key of the wrong length', async () => {
    expectOneLine(await ppp2p(['status', '--swarm-key-file', 'missing.key']), 2, ['--swarm-key-file missing.key', 'no such file'], /no such file/);
    expectOneLine(await ppp2p(['peer', '--swarm-key-file', 'short.key']), 2, ['--swarm-key-file short.key', 'got 10 bytes'], /ppp2p keygen > swarm\.key/);
  });

  it('ppp2p build on a missing directory, ppp2p run with --args that are not JSON', async () => {
    expectOneLine(await ppp2p(['build', 'no-such-dir', '--out', 'out']), 2, ['no-such-dir'], /not a directory/);
    expectOneLine(await ppp2p(['run', 'a-file', 'main', '--args', 'nope']), 2, ['--args is not valid JSON'], /--args '\[1, 500\]'/);
  });

  it('ppp2p run with an export the module does not have', async () => {
    const built = buildSources('cli-errors', { 'm.ts': 'export function add(a: number, b: number): number {\n  return a + b;\n}\n' });
    const file = join(built.outDir, 'm.js');
    const r = await ppp2p(['run', file, 'missingExport']);
    expectOneLine(r, 1, [`the thread 'missingExport' of ${file} failed`, "no exported function 'missingExport'"], /check the export name/);
  });

  it('an unknown command', async () => {
    expectOneLine(await ppp2p(['nope']), 2, ["unknown command 'nope'"], /see ppp2p --help/);
  });
});

describe('--debug', () => {
  it('is documented in ppp2p --help, with the exit statuses', async () => {
    const r = await ppp2p(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--debug/);
    expect(r.stdout).toMatch(/exit status: 0 success; 1 failure.*\n.*2 a command line/);
  });

  it('prints the stack after the one line', async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const r = await ppp2p(['--debug', 'status', '--controller', url, '--swarm-key-file', keyFile]);
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(1);
    const [first, ...more] = r.stderr.trimEnd().split('\n');
    expect(first).toContain(`${url} refused the connection`);
    expect(more.join('\n')).toMatch(/^\s+at /m);
    const later = await ppp2p(['peer', '--swarm-key-file', keyFile, '--port', '0', '--host', '256.1.1.1', '--debug']);
    expect(later.status).toBe(2);
    expect(later.stderr).toMatch(/^ppp2p peer: --host 256\.1\.1\.1 [^\n]*\nUsageError[^\n]*\n\s+at /);
  });
});
