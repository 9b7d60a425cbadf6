// Checkpointable functions reached through a default export, a renaming re-export and a
// namespace import.
import { checkpoint } from 'ppp2p';
export { step as renamedStep } from './steps.ts';

export default async function twice(trace: unknown[], n: number): Promise<number> {
  trace.push(`twice ${n}`);
  await checkpoint();
  return n * 2;
}
