// A class hierarchy from another module: abstract base with a checkpointable method that calls
// an abstract method, cross-module overrides and `super.describe()`.
import { checkpoint } from 'ppp2p';
import { Rect, Square, type Shape } from './lib/shapes.ts';

class Circle extends Rect {
  constructor(readonly r: number) {
    super(r, r);
  }
  override async area(): Promise<number> {
    const square = await super.area();
    await checkpoint();
    return Math.round(square * Math.PI);
  }
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const shapes: Shape[] = [new Rect(2, 3), new Square(4), new Circle(2)];
  const out: string[] = [];
  for (const s of shapes) {
    out.push(await s.describe(trace));
  }
  return { trace, out };
}
