// for-in with checkpoints: integer-like keys first in ascending order, then string keys in
// insertion order; a key deleted before it is visited must not be visited (spec-guaranteed).
import { checkpoint } from 'ppp2p';

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const obj: Record<string, unknown> = {};
  obj['b'] = 1;
  obj['2'] = 'two';
  obj['a'] = 3;
  obj['1'] = 'one';
  obj['doomed'] = 'x';
  obj['z'] = 26;
  for (const key in obj) {
    await checkpoint();
    trace.push(`${key}=${String(obj[key])}`);
    if (key === 'a') delete obj['doomed'];
  }
  // An assignment target declared outside the loop; for-in over an array gives string indices.
  let last = '';
  const arr = ['x', 'y', 'z'];
  for (last in arr) {
    trace.push(`index ${last} (${typeof last})`);
    if (last === '1') await checkpoint();
  }
  trace.push(`last=${last}`);
  return trace;
}
