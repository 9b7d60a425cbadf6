// Class methods: instance (`this` in an arrow), static, private, override and super calls.
import { checkpoint } from 'ppp2p';

export class Counter {
  count = 0;

  async add(n: number): Promise<number> {
    await checkpoint();
    const bump = (): number => (this.count += n);
    return bump();
  }

  static async create(): Promise<Counter> {
    await checkpoint();
    return new this();
  }

  async #secret(): Promise<number> {
    await checkpoint();
    return this.count;
  }

  async reveal(): Promise<number> {
    return await this.#secret();
  }
}

export class Doubler extends Counter {
  override async add(n: number): Promise<number> {
    const base = await super.add(n);
    return base * 2;
  }
}
