// Checkpointable functions written as module-level `const` arrow functions and function
// expressions, a common style: they are functions of the module like any declaration.
import { checkpoint } from 'ppp2p';

export const addLater = async (a: number, b: number): Promise<number> => {
  await checkpoint();
  return a + b;
};

const label = async function (n: number): Promise<string> {
  await checkpoint();
  return `#${n}`;
};

export async function main(): Promise<unknown> {
  const sum = await addLater(2, 3);
  const text = await label(sum);
  await checkpoint();
  return { sum, text };
}
