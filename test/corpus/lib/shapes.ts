// A class hierarchy declared in another module: overrides and super calls across modules.
import { checkpoint } from 'ppp2p';

export abstract class Shape {
  constructor(readonly name: string) {}

  abstract area(): Promise<number>;

  async describe(trace: string[]): Promise<string> {
    trace.push(`describe ${this.name}`);
    await checkpoint();
    const a = await this.area();
    return `${this.name}:${a}`;
  }
}

export class Rect extends Shape {
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    super('rect');
  }

  override async area(): Promise<number> {
    await checkpoint();
    return this.w * this.h;
  }
}

export class Square extends Rect {
  constructor(side: number) {
    super(side, side);
  }

  override async describe(trace: string[]): Promise<string> {
    trace.push('square first');
    const base = await super.describe(trace);
    await checkpoint();
    return `square(${base})`;
  }
}
