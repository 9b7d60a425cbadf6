// Locals, parameters and functions whose names collide with what generated code might use:
// frame fields (`pc`, `self`), `$`-prefixed temporaries, Object.prototype members and
// `__proto__`, all live across checkpoints.
import { checkpoint } from 'ppp2p';

async function $rt(x: number): Promise<number> {
  await checkpoint();
  return x + 1;
}

async function pcAndSelf(pc: number, self: string): Promise<string> {
  const $pc = pc * 2;
  const $f = `${self}!`;
  const $t = [pc];
  const $d = { depth: pc };
  await checkpoint();
  const $v1 = await $rt(pc);
  return `${pc} ${self} ${$pc} ${$f} ${$t.join()} ${$d.depth} ${$v1}`;
}

async function protoNames(): Promise<string> {
  let constructor = 'c';
  let toString = 't';
  let hasOwnProperty = 'h';
  let valueOf = 'v';
  let __proto__ = { p: 1 };
  let fields = ['f'];
  let layout = 'l';
  let id = 'i';
  await checkpoint();
  constructor += '2';
  toString += '2';
  hasOwnProperty += '2';
  valueOf += '2';
  __proto__.p++;
  fields.push('g');
  layout += '2';
  id += '2';
  await checkpoint();
  return [constructor, toString, hasOwnProperty, valueOf, JSON.stringify(__proto__), fields.join(), layout, id].join(' ');
}

export async function main(): Promise<unknown> {
  const main$Frame = 'user value';
  const a = await pcAndSelf(3, 'me');
  const b = await protoNames();
  await checkpoint();
  return { a, b, main$Frame };
}
