/**
 * Dispatches `ppp2p <command>`; each command lives in its own module under commands/. Every failure ends here, in
 * {@link describeError}: one line on stderr (what failed, where, how to fix it) and a non-zero exit status; the stack
 * only with `--debug`.
 */
import { CommandFailure, UsageError } from './errors.ts';
import { PolicyError } from '../daemon/errors.ts';
import {
  ConnectionClosedError,
  ErrorCode,
  HandshakeError,
  OptionError,
  RemoteError,
  RequestTimeoutError,
  UnexpectedReplyError,
} from '../protocol/errors.ts';
import { ThreadError } from '../runtime/errors.ts';

const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  build: { summary: 'transform checkpointable code: ppp2p build <dir> --out <dir>', load: () => import('./commands/build.ts') },
  run: {
    summary: 'run one thread locally: ppp2p run <built.js> <export> [--args JSON] [--migrate-every N]',
    load: () => import('./commands/run.ts'),
  },
  peer: { summary: 'the daemon: ppp2p peer [--port P] [--join ws://h:p,...] [--swarm-key-file F] ... (ppp2p peer --help)', load: () => import('./commands/peer.ts') },
  keygen: { summary: 'print a new swarm key: ppp2p keygen > swarm.key', load: () => import('./commands/keygen.ts') },
  status: { summary: 'peers, virtual computers, threads: ppp2p status [--controller ws://h:p] [--swarm-key-file F] [--json]', load: () => import('./commands/status.ts') },
};

/** Exit status of a failure. */
export const EXIT_FAILURE = 1;
/** Exit status of a command line that cannot be run as given (unknown flag, missing or bad value). */
export const EXIT_USAGE = 2;

function help(): string {
  return [
    'usage: ppp2p [--debug] <command> [options]',
    '',
    'commands:',
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`),
    '',
    'global options:',
    '  --debug  on a failure, print the stack trace after the one-line error (anywhere on the command line)',
    '',
    `exit status: 0 success; ${EXIT_FAILURE} failure (one line on stderr says what, where and how to fix it);`,
    `             ${EXIT_USAGE} a command line that cannot be run as given (unknown flag, missing or bad value)`,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // `--debug` is global: taken out wherever it stands (a flag's value never starts with `--`, see args.ts).
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    console.error(`ppp2p: unknown command '${name}' (commands: ${Object.keys(commands).join(', ')}); see ppp2p --help`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    const { line, status } = describeError(err);
    console.error(`ppp2p ${name}: ${line}`);
    if (debug) console.error(stackOf(err));
    return status;
  }
}

/** The stack of an error and of its causes (a thread's own stack for a ThreadError), for `--debug`. */
function stackOf(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    out.push(e instanceof ThreadError ? e.remoteStack || `${e.remoteName}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e));
    e = e instanceof Error ? e.cause : undefined;
    if (e !== undefined) out.push('caused by:');
  }
  return out.join('\n');
}

/** One line: newlines of a wrapped message become '; ', a trailing period goes. */
function oneLine(text: string): string {
  return text
    .split(/\s*\n\s*/)
    .filter(Boolean)
    .join('; ')
    .replace(/\.$/, '');
}

/**
 * The one place that words a failure: from the error's class and code (the registry in src/protocol/errors.ts, Node's
 * errno codes), what failed, where, and how to fix it, as one line; and the exit status.
 */
export function describeError(err: unknown): { line: string; status: number } {
  // A bad flag or option (ERR_INVALID_OPTION): its message already names it and the fix.
  if (err instanceof UsageError || err instanceof OptionError || err instanceof PolicyError) return { line: oneLine(err.message), status: EXIT_USAGE };
  const failure = err instanceof CommandFailure ? err : undefined;
  const cause = failure !== undefined ? failure.cause : err;
  return { line: oneLine(explain(cause, failure?.where, failure?.flag)), status: EXIT_FAILURE };
}

function explain(err: unknown, where: string | undefined, flag: string | undefined): string {
  const at = where ?? 'the other side';
  const checkUrl = flag !== undefined ? `check that ${flag} is the URL of a running ppp2p peer` : 'check the URL and that the peer is running';
  if (err instanceof HandshakeError) {
    switch (err.code) {
      case ErrorCode.AUTH_FAILED:
        return `${at} refused the swarm key (${err.code}): check that --swarm-key-file (or PPP2P_SWARM_KEY) holds this swarm's key`;
      case ErrorCode.VERSION_MISMATCH:
        return `${at} speaks another protocol version (${err.code}: ${err.closeReason ?? err.message}): run the same ppp2p version on both sides`;
      case ErrorCode.HANDSHAKE_TIMEOUT:
        return `${at} did not complete the handshake in time (${err.code}): ${checkUrl}, and that it is not overloaded`;
      default:
        return `the handshake with ${at} failed (${err.code}: ${err.message}): ${checkUrl} (wss:// for a peer started with --tls-cert)`;
    }
  }
  if (err instanceof ConnectionClosedError) {
    return `${at} closed the connection (${err.code} ${err.closeCode}${err.closeReason ? ` ${err.closeReason}` : ''}): check its log (is it stopping?) and try again`;
  }
  if (err instanceof RequestTimeoutError) return `${at} did not answer in time (${err.code}): check its log (is it overloaded?) and try again`;
  if (err instanceof UnexpectedReplyError) return `${at} answered '${err.request}' with '${err.reply}' (${err.code}): run the same ppp2p version on both sides`;
  if (err instanceof RemoteError) return `${where ?? `peer ${err.peer}`} refused '${err.request}' (${err.code}: ${err.remoteMessage}): check that peer's log`;
  if (err instanceof ThreadError) {
    return `${where ?? 'the thread'} failed: ${err.remoteName}: ${err.message.replace(/\.$/, '')}; check the export name, --args and the thread's code (--debug prints its stack)`;
  }
  const e = err as (Error & NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }) | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined && e !== undefined) {
    const target = e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : (e.hostname ?? e.path);
    if (e.syscall === 'listen' || e.syscall === 'bind') {
      if (code === 'EADDRNOTAVAIL') return `cannot listen on ${target} (${code}): --host must be an address of this machine (127.0.0.1, or 0.0.0.0 for all)`;
      if (code === 'EACCES') return `no permission to listen on ${target} (${code}): use a --port from 1024 up, or --port 0 for any free port`;
      return `cannot listen on ${target} (${code}: ${e.message}): pick another --host or --port`;
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${e.hostname ?? target} (${code}): check the host name ${flag !== undefined ? `in ${flag}` : '(--host, or the host of a URL)'}`;
    if (code === 'ECONNREFUSED') return `${where ?? target} refused the connection, nothing listens there (${code}): ${checkUrl} (start one with: ppp2p peer)`;
    if (['ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code)) {
      return `cannot reach ${where ?? target} (${code}): ${checkUrl}, and that the network lets you through`;
    }
    if (e.syscall !== undefined && e.path !== undefined) return `${e.syscall} ${e.path} failed (${code}): check the path and its permissions`;
  }
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const coded = `${what}${code !== undefined && !what.includes(code) ? ` (${code})` : ''}`;
  if (flag !== undefined) return `${at}: ${coded}; ${checkUrl} (--debug prints the stack)`;
  return `${where !== undefined ? `${where}: ` : ''}${coded}; this is unexpected: rerun with --debug for the stack, and report it`;
}
