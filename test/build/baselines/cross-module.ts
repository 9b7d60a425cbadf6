// Calls into another module of the build: an imported function (under an alias) and a method.
import { step as advance, Tally } from './cross-module-lib.ts';

export async function main(): Promise<number> {
  const t = new Tally();
  const a = await advance(1);
  await t.addSlowly(a);
  return t.total;
}
