// Sites inside expressions, linearized in evaluation order.
import { checkpoint } from 'ppp2p';

async function give<T>(v: T): Promise<T> {
  await checkpoint();
  return v;
}

export async function expressions(o: { n: number; list: number[] }, maybe: { f(x: number): number } | undefined): Promise<unknown[]> {
  let x = 1;
  const out: unknown[] = [];
  x += await give(2);
  o.list[x++] = await give(3);
  out.push(x > 1 ? await give('then') : 'else');
  out.push(x && (await give(4)));
  out.push(`a ${await give('b')} c`);
  out.push({ first: x, second: await give(5), ...o });
  out.push(Math.max(x, await give(6)));
  out.push(maybe?.f(await give(7)));
  return out;
}
