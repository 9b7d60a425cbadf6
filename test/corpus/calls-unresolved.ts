// Awaited calls of checkpointable methods and functions that the type checker cannot tie to their
// implementation: an `any` receiver, an interface the class does not declare it implements, a
// union with a structural member, and a function-typed property named like the function. Each is
// a call site by name, so the callee gets its own frame instead of overwriting its caller's.
import { checkpoint } from 'ppp2p';

class Job {
  done: string[] = [];
  async run(step: string): Promise<number> {
    await checkpoint();
    this.done.push(step);
    return this.done.length;
  }
}

interface Runner {
  run(step: string): Promise<number>;
}

async function tick(n: number): Promise<number> {
  await checkpoint();
  return n + 1;
}

// Module-level: a function is not data, so it must not be a local live at a checkpoint.
const ops: { tick: (n: number) => Promise<number> } = { tick };

function either(job: Job): Job | { run(step: string): Promise<number> } {
  return job;
}

export async function main(): Promise<unknown> {
  const trace: unknown[] = [];
  const j: any = new Job();
  trace.push(await j.run('any'));
  const r: Runner = j as Job;
  trace.push(await r.run('interface'));
  const u = either(r as Job);
  trace.push(await u.run('union'));
  trace.push(await ops.tick(1));
  await checkpoint();
  trace.push(await ops['tick'](10));
  return { trace, done: (j as Job).done };
}
