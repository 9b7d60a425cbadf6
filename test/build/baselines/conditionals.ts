// if/else chains with sites in some branches, unbraced bodies, a site in the condition.
import { checkpoint } from 'ppp2p';

async function flag(n: number): Promise<boolean> {
  await checkpoint();
  return n > 2;
}

export async function classify(n: number): Promise<string[]> {
  const out: string[] = [];
  if (n === 0) await checkpoint();
  else if (n === 1) {
    const tag = 'one';
    await checkpoint();
    out.push(tag);
  } else {
    out.push('many');
  }
  if (await flag(n)) out.push('big');
  return out;
}
