// switch: sites in the discriminant, a case test and clauses; fallthrough; a clause declaration.
import { checkpoint } from 'ppp2p';

async function pick(v: number): Promise<number> {
  await checkpoint();
  return v;
}

export async function choose(v: number): Promise<string[]> {
  const out: string[] = [];
  switch (await pick(v)) {
    case 1:
      out.push('one');
      break;
    case await pick(2):
      out.push('two');
    // falls through
    case 3: {
      await checkpoint();
      out.push('three');
      break;
    }
    default:
      const note = `default ${v}`;
      await checkpoint();
      out.push(note);
  }
  return out;
}
