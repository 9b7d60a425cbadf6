/**
 * `ppp2p peer`: the Peer Controller daemon. Prints one JSON line on stdout once listening,
 * `{"event":"listening","url":"ws://127.0.0.1:7420","peerId":"..."}`, which other processes parse;
 * logs go to stderr. SIGTERM or SIGINT stops it cleanly: its threads migrate to other peers at their next
 * checkpoint (no work lost), then it tells the swarm it leaves. A second signal exits at once.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs, positiveInt } from '../args.ts';
import { UsageError } from '../errors.ts';
import { isLogLevel, LOG_LEVELS } from '../../protocol/log.ts';
import { VirtualComputerLayer } from '../../daemon/virtual-computer-layer.ts';
import { PeerController, prepareDataDir, tuneDaemonProcess } from '../../daemon/peer-controller.ts';
import { SWARM_KEY_BYTES } from '../../protocol/handshake.ts';
import { availableParallelism } from 'node:os';
import { limitsOf, planSandbox, SandboxUnavailableError } from '../../daemon/host/sandbox.ts';
import { describePolicy, effectiveSlots, mergePolicy, parsePolicy, PolicyFile } from '../../daemon/usage-policy.ts';
import { PolicyEnforcer } from '../../daemon/policy-enforcer.ts';

/** A flag that takes a positive number of seconds (fractions allowed). */
function positiveNumber(v: unknown, name: string): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!(n > 0)) throw new UsageError(`--${name} must be a positive number of seconds, got '${String(v)}'; usage: ${usageHint}`);
  return n;
}

const usage =
  'ppp2p peer [--host H] [--port P] [--join ws://h:p,...] [--slots K] [--swarm-key-file F] [--data-dir D] ' +
  '[--log-level debug|info|warn|error|silent] [--tls-cert F --tls-key F] [--advertise-url URL] [--max-frame-bytes N] ' +
  '[--sandbox strict|process|off] [--trusted-swarm] [--config peer.json] [--max-thread-cpu S] [--max-thread-wall S] [--max-memory MB] [--max-errors N]';
/** The usage that errors point to: one line. */
const usageHint = 'ppp2p peer [options] (all of them: ppp2p peer --help)';

/** Default port of `ppp2p peer` (the API's default is 0, any free port). */
export const DEFAULT_PORT = 7420;
const NO_KEY = `no swarm key: create one with \`ppp2p keygen > swarm.key\` and pass --swarm-key-file swarm.key (or set PPP2P_SWARM_KEY to the key's base64)`;

const HELP = `  --host H             interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port P             port to listen on (default ${DEFAULT_PORT}; 0 for any free port)
  --join URLS          peers to join through, comma-separated (any one that answers is enough)
  --slots K            virtual threads run at once (default: CPU cores; 0: a peer that owns virtual
                       computers and holds checkpoints but runs no threads)
  --swarm-key-file F   the swarm key (ppp2p keygen > swarm.key); or env PPP2P_SWARM_KEY=<base64>
  --data-dir D         directory for this peer's files (default: a temporary one)
  --log-level L        debug, info, warn, error or silent (default info; logs go to stderr)
  --tls-cert F --tls-key F   serve wss:// with this PEM certificate and key
  --advertise-url URL  the URL other peers dial to reach this one (default ws://<host>:<port>)
  --max-frame-bytes N  largest WebSocket frame accepted (default 67108864, 64 MiB)
Donating this machine (what others' threads may do here; docs/security.md):
  --sandbox MODE       strict: each owner's threads in its own process inside bubblewrap (no network,
                       no files but their code, uid nobody) under Node's permission model and rlimits;
                       process: the same without bubblewrap; off: worker threads in the daemon, only with
                       --trusted-swarm (default: strict where bubblewrap runs, else process)
  --trusted-swarm      every holder of the swarm key is trusted (a private cluster): allows --sandbox off
  --config F           usage policy file (JSON; reloaded on SIGHUP): slots, maxCpuShare, hours,
                       onlyWhenIdle, maxThreadsPerOwner, allow/blockAddresses, allow/blockOwners, limits
  --max-thread-cpu S   CPU seconds one thread may use here (default: no limit)
  --max-thread-wall S  wall seconds one thread may run here (default: no limit)
  --max-memory MB      memory of one executor process (default 2048)
  --max-errors N       executor crashes a thread of this controller's virtual computers may cause
                       before it fails (default 3)
On start, one JSON line on stdout: {"event":"listening","url":"ws://...","peerId":"..."}.`;

/** Decodes a base64 swarm key, or throws a UsageError saying where it came from and how to make one. */
export function parseSwarmKey(text: string, from: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== SWARM_KEY_BYTES) {
    throw new UsageError(`${from} must hold the base64 of ${SWARM_KEY_BYTES} bytes (got ${key.length} bytes); make a key with: ppp2p keygen > swarm.key`);
  }
  return key;
}

function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * Checks `--host` before anything listens: an IP address, or a DNS name whose last label is not all digits (so
 * `256.1.1.1` is refused here rather than by a failed lookup).
 */
function checkHost(host: string): void {
  if (isIP(host) !== 0) return;
  const labels = host.replace(/\.$/, '').split('.');
  const isName =
    host.length <= 253 && labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
  if (!isName) {
    throw new UsageError(`--host ${host} is neither an IP address nor a host name; pass an address of this machine, e.g. --host 127.0.0.1 (or 0.0.0.0 for all interfaces)`);
  }
}

/** Reads and parses the TLS certificate and key before the server starts, so that a bad PEM is named in one line. */
function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const cert = readFlagFile(certFile, 'tls-cert');
  const key = readFlagFile(keyFile, 'tls-key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new UsageError(`--tls-cert ${certFile} is not a PEM certificate (${(err as Error).message}); pass the certificate file, which starts with -----BEGIN CERTIFICATE-----`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new UsageError(`--tls-key ${keyFile} is not a PEM private key (${(err as Error).message}); pass the unencrypted key file, which starts with -----BEGIN PRIVATE KEY----- or similar`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new UsageError(`--tls-key ${keyFile} is not the key of --tls-cert ${certFile}; pass the key the certificate was made for`);
  }
  return { cert, key };
}

export async function run(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(
    argv,
    {
      host: 'string',
      port: 'string',
      join: 'string',
      slots: 'string',
      'swarm-key-file': 'string',
      'data-dir': 'string',
      'log-level': 'string',
      'tls-cert': 'string',
      'tls-key': 'string',
      'advertise-url': 'string',
      'max-frame-bytes': 'string',
      sandbox: 'string',
      'trusted-swarm': 'boolean',
      config: 'string',
      'max-thread-cpu': 'string',
      'max-thread-wall': 'string',
      'max-memory': 'string',
      'max-errors': 'string',
      help: 'boolean',
    },
    usageHint,
  );
  if (flags.help === true) {
    console.log(`usage: ${usage}\n\n${HELP}`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'; usage: ${usageHint}`);

  let swarmKey: Buffer;
  if (typeof flags['swarm-key-file'] === 'string') {
    swarmKey = parseSwarmKey(readFlagFile(flags['swarm-key-file'], 'swarm-key-file').toString('utf8'), `--swarm-key-file ${flags['swarm-key-file']}`);
  } else if (process.env.PPP2P_SWARM_KEY !== undefined && process.env.PPP2P_SWARM_KEY !== '') {
    swarmKey = parseSwarmKey(process.env.PPP2P_SWARM_KEY, 'PPP2P_SWARM_KEY');
  } else {
    throw new UsageError(`${NO_KEY}; usage: ${usageHint}`);
  }

  let port = DEFAULT_PORT;
  if (flags.port !== undefined) {
    port = /^\d+$/.test(String(flags.port)) ? Number(flags.port) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (0: any free port), got '${String(flags.port)}'; usage: ${usageHint}`);
  }
  const join = typeof flags.join === 'string' ? flags.join.split(',').map((s) => s.trim()).filter(Boolean) : [];
  for (const u of join) if (!/^wss?:\/\/[^\s]+$/.test(u)) throw new UsageError(`--join takes ws:// or wss:// URLs separated by commas, got '${u}'; usage: ${usageHint}`);
  const logLevel = flags['log-level'] ?? process.env.PPP2P_LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${String(logLevel)}'`);
  const certFile = flags['tls-cert'];
  const keyFile = flags['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError(`--tls-cert and --tls-key go together; usage: ${usageHint}`);
  const tls = typeof certFile === 'string' && typeof keyFile === 'string' ? readTls(certFile, keyFile) : undefined;
  const host = typeof flags.host === 'string' ? flags.host : undefined;
  if (host !== undefined) checkHost(host);
  const dataDir = typeof flags['data-dir'] === 'string' ? flags['data-dir'] : undefined;
  if (dataDir !== undefined) prepareDataDir(dataDir, '--data-dir');
  const advertiseUrl = flags['advertise-url'];
  if (advertiseUrl !== undefined && (typeof advertiseUrl !== 'string' || !/^wss?:\/\/[^\s]+$/.test(advertiseUrl))) {
    throw new UsageError(`--advertise-url must be a ws:// or wss:// URL; usage: ${usageHint}`);
  }

  // The donor's policy: the file, then the flags over it (each flag wins over the file's field).
  const flagPolicy = parsePolicy(
    {
      ...(flags.sandbox !== undefined ? { sandbox: flags.sandbox } : {}),
      ...(flags['max-thread-cpu'] !== undefined ? { maxThreadCpuSeconds: positiveNumber(flags['max-thread-cpu'], 'max-thread-cpu') } : {}),
      ...(flags['max-thread-wall'] !== undefined ? { maxThreadWallSeconds: positiveNumber(flags['max-thread-wall'], 'max-thread-wall') } : {}),
      ...(flags['max-memory'] !== undefined ? { maxMemoryMb: positiveInt(flags, 'max-memory', usageHint) } : {}),
      ...(flags['max-errors'] !== undefined ? { maxErrors: positiveInt(flags, 'max-errors', usageHint) } : {}),
      ...(flags.slots !== undefined ? { slots: positiveInt(flags, 'slots', usageHint, 0) } : {}),
    },
    'the command line',
  );
  const configFile = typeof flags.config === 'string' ? flags.config : undefined;
  const policyFile = configFile === undefined ? undefined : new PolicyFile(configFile, () => {});
  const policy = mergePolicy(policyFile?.load() ?? {}, flagPolicy);
  let sandbox;
  try {
    sandbox = planSandbox(policy.sandbox, flags['trusted-swarm'] === true);
  } catch (err) {
    if (err instanceof SandboxUnavailableError) throw new UsageError(err.message);
    throw err;
  }
  const slots = policy.slots !== undefined || policy.maxCpuShare !== undefined ? effectiveSlots(policy, availableParallelism()) : undefined;

  tuneDaemonProcess();
  const pc = await PeerController.start({
    swarmKey,
    host,
    port,
    join,
    slots,
    dataDir,
    logLevel,
    tls,
    advertiseUrl: typeof advertiseUrl === 'string' ? advertiseUrl : undefined,
    maxFrameBytes: positiveInt(flags, 'max-frame-bytes', usageHint),
  });
  process.on('unhandledRejection', (reason) => {
    pc.log.error(`unhandled rejection (the daemon keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  });
  // The daemon is both halves of the paper's duality: it hosts deployers for local applications and
  // runs other peers' threads as a worker.
  const layer = VirtualComputerLayer.attach(pc, {
    sandbox,
    limits: limitsOf(policy),
    ...(policy.maxErrors !== undefined ? { maxErrors: policy.maxErrors } : {}),
  });
  pc.log.info(`sandbox ${sandbox.mode}: ${sandbox.layers.join('; ')}`);
  for (const m of sandbox.missing) pc.log.warn(`sandbox: missing ${m}`);
  for (const line of describePolicy(policy)) pc.log.info(`usage policy: ${line}`);
  const enforcer = new PolicyEnforcer(pc, layer.worker, policy, pc.log.child('policy'));
  if (policyFile !== undefined) {
    process.on('SIGHUP', () => {
      if (!policyFile.reload()) return;
      const next = mergePolicy(policyFile.current, flagPolicy);
      enforcer.update(next);
      pc.log.info(`usage policy reloaded from ${policyFile.path} (slots, sandbox and limits take effect at the next start)`);
      for (const line of describePolicy(next)) pc.log.info(`usage policy: ${line}`);
    });
  }
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: pc.url, peerId: pc.id })}\n`);

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      pc.log.info(`${signal} received: leaving the swarm once this peer's threads have migrated (send it again to exit at once)`);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const again = (): void => {
        pc.log.warn('second signal: exiting without waiting for threads to migrate');
        process.exit(1);
      };
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // Graceful leave: every thread here migrates at its next checkpoint, with no work lost.
  enforcer.stop();
  await layer.leave();
  await layer.close();
  await pc.stop();
  return 0;
}
