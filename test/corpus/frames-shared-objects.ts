// One object referenced from several frames of the chain (a caller's local and a callee's
// parameter) is one object after a resume: the callee's writes after the checkpoint are seen
// by the caller, and identity comparisons across frames hold.
import { checkpoint } from 'ppp2p';

interface State {
  log: string[];
  nested: { hits: number };
}

async function inner(state: State, nested: { hits: number }, seen: State[]): Promise<boolean> {
  await checkpoint();
  state.log.push('inner');
  nested.hits++;
  return state.nested === nested && seen[0] === state;
}

async function outer(state: State): Promise<boolean> {
  const alias = state;
  const seen = [state];
  const same = await inner(state, state.nested, seen);
  alias.log.push('outer');
  return same && alias === state && seen[0] === state;
}

export async function main(): Promise<unknown> {
  const state: State = { log: [], nested: { hits: 0 } };
  const keep = state.nested;
  const sameInside = await outer(state);
  await checkpoint();
  return { sameInside, log: state.log, hits: keep.hits, keepIsNested: keep === state.nested };
}
