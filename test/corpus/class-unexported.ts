// An instance of a class that its module does not export, held across checkpoints in this
// module's frame, and a checkpointable method called on it through an interface type.
import { checkpoint } from 'ppp2p';
import { makeHidden } from './lib/factory.ts';

export async function main(): Promise<unknown> {
  const h = makeHidden('anna');
  h.add('a');
  await checkpoint();
  h.add('b');
  const text = await h.render();
  await checkpoint();
  return { text, again: await h.render() };
}
