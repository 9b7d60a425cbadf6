/**
 * The abusive client of abusive-client.test.ts, as a child process (so that the test's probe measures the daemon,
 * not its own event loop busy with the flood): `flooder.ts <url> <swarm key base64> <ms> <window>`. One
 * authenticated client connection sends `members`, `vc-status` and `echo` requests (values up to 4 KiB), keeping
 * `window` of them in flight, for `ms`; then prints `{ sent, answered, failed }` as one JSON line and exits.
 */
import { randomBytes } from 'node:crypto';
import { connect } from '../../src/protocol/connection.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { createLogger } from '../../src/protocol/log.ts';
import type { RequestInput } from '../../src/protocol/messages.ts';

const [url, key, ms, window] = process.argv.slice(2) as [string, string, string, string];
const conn = await connect(url, { swarmKey: Buffer.from(key, 'base64'), role: 'client', identity: generateIdentity(), log: createLogger({ level: 'silent' }) });
const values = Array.from({ length: 17 }, (_, i) => randomBytes(i * 256).toString('base64').slice(0, i * 256));
const requests: RequestInput[] = [{ t: 'members' }, { t: 'vc-status' }, ...values.map((value) => ({ t: 'echo', value }) as const)];
let sent = 0;
let answered = 0;
let failed = 0;
let stop = false;
const fire = (): void => {
  if (stop || !conn.isOpen) return;
  const req = requests[sent % requests.length]!;
  sent++;
  conn.request(req, 60_000).then(
    () => {
      answered++;
      fire();
    },
    () => {
      failed++;
      fire();
    },
  );
};
for (let i = 0; i < Number(window); i++) fire();
await new Promise((r) => setTimeout(r, Number(ms)));
stop = true;
const drainStart = Date.now();
while (answered + failed < sent && Date.now() - drainStart < 60_000) await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`${JSON.stringify({ sent, answered, failed, closed: conn.closeInfo ?? null })}\n`);
conn.close();
process.exit(0);
