/**
 * The package as a new user gets it, outside this repository: `npm pack` the repo, `npm install` the tarball into a
 * scratch application under the OS temp dir, `npx ppp2p build src --out built`, type-check the application against the
 * installed declarations (strict, NodeNext, `skipLibCheck: false`), and run it with plain `node`: threads on an
 * embedded local swarm, results equal to what the same function computes here, and no child peer left afterwards.
 *
 * It packs the compiled `dist/` as it is (`--ignore-scripts`); `npm test` builds it first (`npm run build`).
 * Set PPP2P_KEEP_PACKAGE_TMP=1 to keep the scratch directory for a look.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ThreadContext, detachThread } from 'ppp2p/runtime';
import { sumTo } from './fixtures/count.ts';
import { planSandbox } from '../../src/daemon/host/sandbox.ts';

function strictRuns(): boolean {
  try {
    return planSandbox('strict', false).mode === 'strict';
  } catch {
    return false;
  }
}

const repoRoot = resolve(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, 'fixtures');
/** Thread sizes the application spawns; thread k (spawn order) gets SIZES[k]. Three threads on two workers: one waits. */
const SIZES = [200_000, 300_000, 100_000];
const PROGRESS_EVERY = 50_000; // fixtures/count.ts

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment of a user's shell, not of `npm test`: npm run sets npm_config_local_prefix (which would make the
 * child npm install into this repo), npm_package_*, NODE_OPTIONS may carry loaders, and PATH starts with this repo's
 * node_modules/.bin (whose tsc is not the one the application installed).
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_package_|npm_lifecycle_|VITEST)/i.test(key)) continue;
    if (/^(npm_config_(local_prefix|global_prefix|prefix|call)|npm_command|npm_execpath|npm_node_execpath|INIT_CWD|NODE_OPTIONS)$/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !resolve(dir).startsWith(repoRoot))
    .join(delimiter);
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const started = performance.now();
  return new Promise((done) => {
    execFile(command, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null; // null: killed (timeout)
      done({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Fails with the command's output when it did not exit 0. */
function expectOk(r: Run, what: string): void {
  expect(r.code, `${what} failed (exit ${r.code}, ${Math.round(r.ms)} ms)\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

/** dist/ must hold a current build of src/: this test packs it as it is. */
function checkDist(): void {
  const dist = join(repoRoot, 'dist');
  if (!existsSync(join(dist, 'client/index.js'))) {
    throw new Error(`${dist} is missing: run \`npm run build\` first (\`npm test\` does). This test packs the compiled package.`);
  }
  const stale = filesUnder(join(repoRoot, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => {
      const js = join(dist, f.replace(/\.ts$/, '.js'));
      return !existsSync(js) || statSync(js).mtimeMs < statSync(join(repoRoot, 'src', f)).mtimeMs;
    });
  if (stale.length > 0) {
    throw new Error(`dist/ is older than src/ (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}): run \`npm run build\` first.`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * What sumTo(n) returns as virtual thread `id`: the same source run here, untransformed, on a fresh generator seeded
 * for that thread (plain calls share one detached generator that every call advances).
 */
async function expectedAsThread(id: number, n: number): Promise<number> {
  try {
    return await new ThreadContext(ThreadContext.initialState(id, SIZES.length)).run(sumTo, [n]);
  } finally {
    detachThread();
  }
}

// The scratch application. It imports the built module; its spawn calls are typed from the emitted count.d.ts.
const APP_TS = `import { VirtualComputer } from 'ppp2p';
import { sumTo } from './built/count.js';

const sizes = JSON.parse(process.argv[2] ?? '[]') as number[];
// The embedded swarm's sandbox: off (the default) or a donor's (process, strict), from the installed package's dist.
const sandbox = process.argv[3] as 'off' | 'process' | 'strict' | undefined;
// A snapshot at (nearly) every checkpoint, copied to the other peer: the compiled runtime's whole checkpoint path runs.
const vc = await VirtualComputer.create({ workers: 2, checkpoint: { intervalMs: 1 }, ...(sandbox !== undefined ? { sandbox } : {}) });
try {
  const threads = sizes.map((n) => vc.spawn(sumTo, n));
  const progress = threads.map(() => 0);
  threads.forEach((t, k) => t.on('progress', () => (progress[k] = (progress[k] ?? 0) + 1)));
  const results: number[] = [];
  for (const t of threads) {
    const r: number = await t.result;
    results.push(r);
  }
  console.log(JSON.stringify({ results, progress, workers: vc.workers.length, peerPids: vc.embeddedPeerPids, swarmDir: vc.embeddedSwarmDir }));
} finally {
  await vc.close();
}
`;

// Compiled, never called: proves that spawn is typed from sumTo's declaration. Also loads every entry point.
const CHECKS_TS = `import * as sdk from 'ppp2p';
import * as runtime from 'ppp2p/runtime';
import * as threadApi from 'ppp2p/thread';
import * as build from 'ppp2p/build';
import type { VirtualComputer, VirtualThread } from 'ppp2p';
import { sumTo } from './built/count.js';

export function typedSpawn(vc: VirtualComputer): VirtualThread<number> {
  // @ts-expect-error sumTo takes a number, not a string
  vc.spawn(sumTo, 'x');
  // @ts-expect-error sumTo needs its argument
  vc.spawn(sumTo);
  // @ts-expect-error sumTo takes one argument
  vc.spawn(sumTo, 1, 2);
  return vc.spawn(sumTo, 1000);
}

export async function typedResult(t: VirtualThread<number>): Promise<number> {
  // @ts-expect-error the result is a number
  const s: string = await t.result;
  void s;
  const r: number = await t.result;
  return r;
}

const entryPoints = { ppp2p: sdk, 'ppp2p/runtime': runtime, 'ppp2p/thread': threadApi, 'ppp2p/build': build };
console.log(JSON.stringify(Object.fromEntries(Object.entries(entryPoints).map(([name, m]) => [name, Object.keys(m).length]))));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false, // the package's declarations are checked too, and what they import (ws, node)
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    types: ['node'],
  },
  files: ['app.ts', 'checks.ts'],
};

describe('the npm package, installed into an application outside the repository', () => {
  let tmp = '';
  let app = '';
  let tarball = '';
  const timings: Record<string, number> = {};
  const started = performance.now();

  beforeAll(async () => {
    checkDist();
    tmp = mkdtempSync(join(tmpdir(), 'ppp2p-package-'));
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], repoRoot, 120_000);
    expectOk(packed, 'npm pack');
    timings.pack = packed.ms;
    const [info] = JSON.parse(packed.stdout) as { filename: string }[];
    tarball = join(tmp, info!.filename);
    expect(existsSync(tarball)).toBe(true);

    app = join(tmp, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app, 240_000);
    expectOk(installed, `npm install ${tarball}`);
    timings.install = installed.ms;
  }, 400_000);

  afterAll(() => {
    timings.total = performance.now() - started;
    console.log(`package test (ms): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}`);
    if (tmp !== '' && process.env.PPP2P_KEEP_PACKAGE_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
    else if (tmp !== '') console.log(`kept ${tmp}`);
  });

  test('the tarball holds the compiled package and no tests; every export and the bin are in it', async () => {
    const listed = await run('tar', ['tzf', tarball], tmp, 60_000);
    expectOk(listed, 'tar tzf');
    const entries = listed.stdout.split('\n').filter((l) => l !== '');
    expect(entries.length).toBeGreaterThan(50);
    const tests = entries.filter((e) => /(^|\/)(test|tests|__tests__|fixtures)\//.test(e) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(e));
    expect(tests).toEqual([]);
    expect(entries.filter((e) => e.endsWith('.tsbuildinfo'))).toEqual([]);

    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = [
      ...Object.values(pkg.bin),
      ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.entries(e).filter(([c]) => c !== 'ppp2p-source').map(([, t]) => t))),
    ];
    for (const target of targets) expect(entries, `${target} (package.json) is not in the tarball`).toContain(join('package', target));
  });

  test('installs without tsx: runtime dependencies only', () => {
    const installedPkg = JSON.parse(readFileSync(join(app, 'node_modules/ppp2p/package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    expect(Object.keys(installedPkg.dependencies ?? {})).not.toContain('tsx');
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/.bin/ppp2p'))).toBe(true);
  });

  test('`npx ppp2p build src --out built` writes the module and its .d.ts', async () => {
    writeFileSync(join(app, 'src/count.ts'), readFileSync(join(fixtures, 'count.ts'), 'utf8'));
    const built = await run('npx', ['--no', 'ppp2p', 'build', 'src', '--out', 'built'], app, 120_000);
    expectOk(built, 'npx ppp2p build src --out built');
    timings.build = built.ms;
    expect(existsSync(join(app, 'built/count.js'))).toBe(true);
    const dts = readFileSync(join(app, 'built/count.d.ts'), 'utf8');
    expect(dts).toContain('export declare function sumTo(n: number): Promise<number>;');
  }, 150_000);

  test('the application type-checks with the installed TypeScript: strict, NodeNext, skipLibCheck false; spawn is typed', async () => {
    writeFileSync(join(app, 'app.ts'), APP_TS);
    writeFileSync(join(app, 'checks.ts'), CHECKS_TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    // The TypeScript the application got with ppp2p, not this repository's; it emits app.js and checks.js next to the sources.
    const tsc = await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app, 240_000);
    expectOk(tsc, 'tsc -p tsconfig.json (strict, NodeNext, skipLibCheck: false)');
    timings.typecheck = tsc.ms;
    expect(existsSync(join(app, 'app.js'))).toBe(true);
  }, 300_000);

  test('every entry point loads under plain node', async () => {
    const r = await run(process.execPath, ['checks.js'], app, 60_000);
    expectOk(r, 'node checks.js');
    const counts = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(counts)).toEqual(['ppp2p', 'ppp2p/runtime', 'ppp2p/thread', 'ppp2p/build']);
    for (const [name, count] of Object.entries(counts)) expect(count, `${name} exports nothing`).toBeGreaterThan(0);
  }, 90_000);

  test('`ppp2p run --migrate-every` resumes the built thread from bytes under plain node, with the native result', async () => {
    const n = 20_000;
    const r = await run('npx', ['--no', 'ppp2p', 'run', 'built/count.js', 'sumTo', '--args', JSON.stringify([n]), '--migrate-every', '5000'], app, 120_000);
    expectOk(r, 'npx ppp2p run --migrate-every 5000');
    timings.migrate = r.ms;
    // `ppp2p run` runs one thread: thread 0 of 1.
    expect(JSON.parse(r.stdout)).toBe(await expectedAsThread(0, n));
    expect(r.stderr).toMatch(/4 migrations/);
  }, 150_000);

  // Sandboxed executors of an installed package: the package root and its hoisted dependencies are all they may read.
  test('`node app.js` runs the same threads in sandboxed executors of the installed package (process, and strict where bubblewrap runs)', async () => {
    const expected: number[] = [];
    for (const [k, n] of SIZES.entries()) expected.push(await expectedAsThread(k, n));
    for (const mode of strictRuns() ? ['process', 'strict'] : ['process']) {
      const r = await run(process.execPath, ['app.js', JSON.stringify(SIZES), mode], app, 180_000);
      expectOk(r, `node app.js (sandbox ${mode})`);
      expect((JSON.parse(r.stdout) as { results: number[] }).results, mode).toEqual(expected);
    }
  });

  test('`node app.js` runs threads on an embedded swarm of two workers, with the results of the native function, and leaves no peer behind', async () => {
    const r = await run(process.execPath, ['app.js', JSON.stringify(SIZES)], app, 180_000);
    expectOk(r, 'node app.js');
    timings.app = r.ms;
    const out = JSON.parse(r.stdout) as { results: number[]; progress: number[]; workers: number; peerPids: number[]; swarmDir: string };

    const expected: number[] = [];
    for (const [k, n] of SIZES.entries()) expected.push(await expectedAsThread(k, n));
    expect(new Set(expected).size).toBe(SIZES.length);
    expect(out.results).toEqual(expected);
    expect(out.progress).toEqual(SIZES.map((n) => Math.floor(n / PROGRESS_EVERY)));

    expect(out.workers).toBe(2);
    expect(out.peerPids).toHaveLength(2);
    const left = (): number[] => out.peerPids.filter(alive);
    expect(await eventually(() => left().length === 0, 10_000), `child peers still running: ${left().join(', ')}`).toBe(true);
    expect(existsSync(out.swarmDir), `${out.swarmDir} (the embedded swarm's files) was not removed`).toBe(false);
  }, 240_000);
});
