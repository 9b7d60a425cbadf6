// Checkpoint sites and call sites in a loop; `return await` of a checkpointable call.
import { checkpoint } from 'ppp2p';

export async function island(seed: number, gens: number): Promise<number> {
  let best = seed;
  for (let g = 0; g < gens; g++) {
    best = best * 2 + g;
    await checkpoint();
    best = await evolve(best);
  }
  return best;
}

async function evolve(x: number): Promise<number> {
  await checkpoint();
  return x + 1;
}

export async function twice(x: number): Promise<number> {
  await evolve(x);
  return await evolve(x + 1);
}
