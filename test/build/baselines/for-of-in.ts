// for-of over an array (index loop), over a Map and a string (cursor), for-in (key cursor).
import { checkpoint } from 'ppp2p';

export async function iterate(xs: number[], m: Map<string, number>, s: string, o: Record<string, number>): Promise<string[]> {
  const out: string[] = [];
  for (const x of xs) {
    await checkpoint();
    out.push(String(x));
  }
  for (const [k, v] of m) {
    await checkpoint();
    out.push(`${k}=${v}`);
  }
  for (const ch of s) {
    await checkpoint();
    out.push(ch);
  }
  for (const key in o) {
    await checkpoint();
    out.push(key);
  }
  return out;
}
