// Methods called through a base type or an interface-typed value: the checker resolves the base
// method, the runtime dispatches to overrides, and every override must be transformed. Classes
// passed as values (a constructor parameter) with async static methods.
import { checkpoint } from 'ppp2p';

interface Task {
  run(trace: string[]): Promise<number>;
}

abstract class BaseTask implements Task {
  constructor(readonly id: number) {}
  abstract run(trace: string[]): Promise<number>;
}

class Double extends BaseTask {
  async run(trace: string[]): Promise<number> {
    await checkpoint();
    trace.push(`double ${this.id}`);
    return this.id * 2;
  }
}

class Square extends BaseTask {
  async run(trace: string[]): Promise<number> {
    trace.push(`square ${this.id}`);
    await checkpoint();
    return this.id * this.id;
  }
}

class Factory {
  static async make(id: number): Promise<Task> {
    await checkpoint();
    return id % 2 === 0 ? new Double(id) : new Square(id);
  }
}

async function runAll(tasks: Task[], trace: string[]): Promise<number> {
  let sum = 0;
  for (const t of tasks) sum += await t.run(trace);
  return sum;
}

async function build(kind: typeof Factory, ids: number[]): Promise<Task[]> {
  const out: Task[] = [];
  for (const id of ids) out.push(await kind.make(id));
  return out;
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const tasks = await build(Factory, [1, 2]);
  const sum = await runAll(tasks, trace);
  const direct: BaseTask = new Square(5);
  const five = await direct.run(trace);
  return { trace, sum, five };
}
