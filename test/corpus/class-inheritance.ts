// Overriding async methods and `super.method()` calls, each side with checkpoints; a base-class
// method calling an overridden method through `this` dispatches to the subclass.
import { checkpoint } from 'ppp2p';

class Animal {
  constructor(readonly name: string) {}

  async sound(): Promise<string> {
    await checkpoint();
    return '...';
  }

  async speak(trace: string[]): Promise<string> {
    trace.push(`${this.name} speaks`);
    const s = await this.sound();
    await checkpoint();
    return `${this.name} says ${s}`;
  }
}

class Dog extends Animal {
  override async sound(): Promise<string> {
    const base = await super.sound();
    await checkpoint();
    return `woof (not ${base})`;
  }
}

class Puppy extends Dog {
  override async speak(trace: string[]): Promise<string> {
    trace.push('puppy first');
    await checkpoint();
    const parent = await super.speak(trace);
    return `${parent}, tiny`;
  }

  static async adopt(name: string): Promise<Puppy> {
    await checkpoint();
    return new Puppy(name);
  }
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const out: string[] = [];
  out.push(new Animal('cat').name);
  out.push(await new Dog('rex').speak(trace));
  const p = await Puppy.adopt('bit');
  out.push(await p.speak(trace));
  out.push(`${p instanceof Dog} ${p instanceof Animal} ${Object.getPrototypeOf(p) === Puppy.prototype}`);
  return { trace, out };
}
