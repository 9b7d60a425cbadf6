/**
 * Thread code of bench/messaging.ts, built with `ppp2p build` by the bench. Times are
 * `process.hrtime` in ms: one monotonic clock for every process and thread of the machine.
 */
import { checkpoint, globals, thread } from 'ppp2p';

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Sends `n` payloads of `bytes` bytes to `to` as fast as the mailbox lets it; returns when it started. */
export async function source(to: number, n: number, bytes: number): Promise<number> {
  const pad = new Uint8Array(bytes).fill(7);
  const started = nowMs();
  for (let i = 0; i < n; i++) await thread.send(to, pad);
  return started;
}

/**
 * Receives `n` messages from `from`; returns when the last one arrived. Like a real receiver it offers a checkpoint
 * as it goes (the policy takes one a second): its acknowledged checkpoints let the sender trim its outbox, which
 * otherwise grows to its 64 MB cap and stays there.
 */
export async function sink(from: number, n: number, checkpoints = true): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    bytes += ((await thread.receive({ from })).value as Uint8Array).byteLength;
    if (checkpoints) await checkpoint();
  }
  if (bytes < 0) throw new Error('unreachable');
  return nowMs();
}

/** Sends `n` stamped payloads to `to`, one at a time, each after the previous one's echo. */
export async function pinger(to: number, n: number, bytes: number): Promise<void> {
  const pad = new Uint8Array(bytes).fill(7);
  for (let i = 0; i < n; i++) {
    await thread.send(to, { t: nowMs(), pad });
    await thread.receive({ from: to });
  }
}

/** Answers `n` pings from `from`; returns each one's one-way latency in ms. */
export async function ponger(from: number, n: number, checkpoints = true): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = await thread.receive({ from });
    samples.push(nowMs() - (m.value as { t: number }).t);
    await thread.send(from, 0);
    if (checkpoints) await checkpoint(); // as sink() does
  }
  return samples;
}

/** `n` increments of global `name` through globals.update. */
export async function updater(name: string, n: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < n; i++) last = await globals.update<number>(name, (c) => (c ?? 0) + 1);
  return last;
}
