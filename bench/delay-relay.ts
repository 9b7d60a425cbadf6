/**
 * A TCP relay that delays every byte by a fixed time in each direction: the network latency of a
 * simulated host, for kernels without tc's netem (this machine's kernel has CONFIG_NET_SCH_NETEM unset).
 * Run inside a host's network namespace in front of its daemon; the daemon advertises the relay's address,
 * so every connection to the host, from peers and from the application, crosses it.
 *
 * ```sh
 * ip netns exec h1 node --import tsx --conditions=ppp2p-source bench/delay-relay.ts --listen 10.77.0.11:7000 --to 127.0.0.1:7001 --delay-ms 5
 * ```
 * Prints `{"event":"listening"}` once it accepts connections; exits when stdin closes (its parent is gone).
 *
 * Order is kept because Node runs timers of the same duration in the order they were set.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

function hostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`--${flag} must be HOST:PORT, found '${text}'`);
  return { host: m[1]!, port: Number(m[2]) };
}

const { values } = parseArgs({
  options: { listen: { type: 'string' }, to: { type: 'string' }, 'delay-ms': { type: 'string', default: '5' } },
  strict: true,
});
if (values.listen === undefined || values.to === undefined) {
  process.stderr.write('delay-relay: --listen HOST:PORT and --to HOST:PORT are required\n');
  process.exit(2);
}
const listen = hostPort(values.listen, 'listen');
const target = hostPort(values.to, 'to');
const delayMs = Number(values['delay-ms']);
if (!(delayMs >= 0)) {
  process.stderr.write(`delay-relay: --delay-ms must be a number >= 0, found '${values['delay-ms']}'\n`);
  process.exit(2);
}

/** Copies `from` to `to`, each chunk `delayMs` after it arrived; an end or error closes both sides after the data. */
function delayedPipe(from: Socket, to: Socket): void {
  from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => setTimeout(() => to.destroy(), delayMs));
  from.on('close', () => setTimeout(() => to.destroy(), delayMs));
}

const server = createServer({ noDelay: true }, (client) => {
  const upstream = createConnection({ ...target, noDelay: true });
  delayedPipe(client, upstream);
  delayedPipe(upstream, client);
});
server.listen(listen.port, listen.host, () => process.stdout.write('{"event":"listening"}\n'));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
