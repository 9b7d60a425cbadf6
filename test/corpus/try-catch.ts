// try/catch with checkpoints in the try block before the throw, in the catch block (the caught
// error must survive the checkpoint) and after; a catch without a binding.
import { checkpoint } from 'ppp2p';

class ValidationError extends Error {
  constructor(readonly field: string) {
    super(`bad ${field}`);
    this.name = 'ValidationError';
  }
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  for (const field of ['ok', 'age', 'name']) {
    try {
      trace.push(`check ${field}`);
      await checkpoint();
      if (field !== 'ok') throw new ValidationError(field);
      trace.push(`${field} passed`);
    } catch (err) {
      await checkpoint();
      const e = err as ValidationError;
      trace.push(`caught ${e.name} ${e.message} field=${e.field} isError=${e instanceof Error}`);
    }
  }
  try {
    await checkpoint();
    JSON.parse('{');
  } catch {
    await checkpoint();
    trace.push('parse failed');
  }
  try {
    throw { code: 42, detail: ['plain', 'object'] };
  } catch (thrown) {
    await checkpoint();
    trace.push(`thrown plain ${JSON.stringify(thrown)}`);
  }
  return trace;
}
