// Module-level `const` arrow functions and function expressions are checkpointable functions too;
// an arrow's expression body is lowered as `return <expression>`.
import { checkpoint } from 'ppp2p';

export const addLater = async (a: number, b: number): Promise<number> => {
  await checkpoint();
  return a + b;
};

const twice = async (n: number): Promise<number> => await addLater(n, n);

export const label = async function (n: number): Promise<string> {
  return `#${await twice(n)}`;
};
