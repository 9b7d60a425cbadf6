/**
 * Control traffic of an idle swarm: N peers in one process on loopback (PeerController.start), joined through
 * the first one; once every peer sees all N and no peer has a membership update left to piggyback, traffic is counted at the WebSocket layer (payload + frame
 * headers, both directions) for D seconds. Goal: <= 1 KB/s per peer.
 *
 *   npx tsx --conditions=ppp2p-source bench/idle-traffic.ts [--peers 50] [--seconds 20]
 *
 * Prints one JSON object: bytes/s per peer (sent, received, total: mean and max), messages/s, convergence time.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs, positiveInt } from '../src/cli/args.ts';
import { PeerController } from '../src/daemon/peer-controller.ts';
import { measureSpeed } from '../src/daemon/swarm/participation-manager.ts';

const usage = 'npx tsx --conditions=ppp2p-source bench/idle-traffic.ts [--peers N] [--seconds S]';
const { flags } = parseArgs(process.argv.slice(2), { peers: 'string', seconds: 'string' }, usage);
const n = positiveInt(flags, 'peers', usage) ?? 50;
const seconds = positiveInt(flags, 'seconds', usage) ?? 20;
const GOAL = 1024;

const swarmKey = randomBytes(32);
const speed = measureSpeed(100); // once: the peers share this process's CPU anyway
const started = performance.now();
const seed = await PeerController.start({ swarmKey, logLevel: 'warn', speed, slots: 2 });
const peers = [seed];
for (let i = 1; i < n; i++) peers.push(await PeerController.start({ swarmKey, logLevel: 'warn', speed, slots: 2, join: [seed.url] }));

const converged = (): boolean => peers.every((p) => p.membership.peers().filter((m) => m.state === 'alive').length === n);
while (!converged()) {
  if (performance.now() - started > 60_000) throw new Error('the swarm did not converge within 60 s');
  await new Promise((r) => setTimeout(r, 50));
}
const convergenceMs = Math.round(performance.now() - started);
// Idle means once the join-time gossip has drained: no peer has a membership update left to piggyback.
const settleStart = performance.now();
while (peers.some((p) => p.membership.pendingUpdates > 0) && performance.now() - settleStart < 60_000) {
  await new Promise((r) => setTimeout(r, 100));
}
const settleMs = Math.round(performance.now() - settleStart);

const before = peers.map((p) => p.traffic());
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const elapsed = (performance.now() - t0) / 1000;
const after = peers.map((p) => p.traffic());
const stillConverged = converged();
const suspects = peers.reduce((acc, p) => acc + p.membership.peers().filter((m) => m.state !== 'alive').length, 0);

const per = after.map((a, i) => {
  const b = before[i]!;
  return {
    sent: (a.bytesSent - b.bytesSent) / elapsed,
    received: (a.bytesReceived - b.bytesReceived) / elapsed,
    messages: (a.messagesSent - b.messagesSent + a.messagesReceived - b.messagesReceived) / elapsed,
  };
});
const mean = (xs: number[]): number => Math.round(xs.reduce((s, x) => s + x, 0) / xs.length);
const max = (xs: number[]): number => Math.round(Math.max(...xs));
const total = per.map((p) => p.sent + p.received);

await Promise.all(peers.map((p) => p.stop()));

console.log(
  JSON.stringify(
    {
      bench: 'idle-traffic',
      peers: n,
      seconds: Math.round(elapsed * 10) / 10,
      convergenceMs,
      settleMs,
      bytesPerSecPerPeer: {
        sent: { mean: mean(per.map((p) => p.sent)), max: max(per.map((p) => p.sent)) },
        received: { mean: mean(per.map((p) => p.received)), max: max(per.map((p) => p.received)) },
        total: { mean: mean(total), max: max(total) },
      },
      messagesPerSecPerPeer: mean(per.map((p) => p.messages)),
      goalBytesPerSecPerPeer: GOAL,
      meetsGoal: Math.max(...total) <= GOAL,
      membershipIntact: stillConverged && suspects === 0,
    },
    null,
    2,
  ),
);
