// A class with #private fields whose instance is live across checkpoints. A snapshot cannot carry
// #private state (the codec restores an instance without running its constructor), so the first
// checkpoint that holds `budget` fails the thread naming the variable and the line, instead of
// letting a later `this.#left` throw (test/runtime/unserializable-at-checkpoint.test.ts).
import { checkpoint } from 'ppp2p';

class Budget {
  #left: number;
  #spent: string[] = [];
  constructor(total: number) {
    this.#left = total;
  }
  spend(what: string, cost: number): boolean {
    if (cost > this.#left) return false;
    this.#left -= cost;
    this.#spent.push(what);
    return true;
  }
  get left(): number {
    return this.#left;
  }
  report(): string {
    return `${this.#spent.join(',')} left=${this.#left}`;
  }
}

export async function main(): Promise<unknown> {
  const budget = new Budget(10);
  budget.spend('tea', 3);
  await checkpoint();
  const ok = budget.spend('cake', 5);
  await checkpoint();
  const tooMuch = budget.spend('car', 50);
  return { ok, tooMuch, left: budget.left, report: budget.report() };
}
