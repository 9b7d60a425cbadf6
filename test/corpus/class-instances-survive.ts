// Objects of user classes held in locals across checkpoints keep their prototypes: methods,
// getters and instanceof work after a resume, and object graphs mixing classes stay intact.
import { checkpoint } from 'ppp2p';

class Vec {
  constructor(
    public x: number,
    public y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
  plus(o: Vec): Vec {
    return new Vec(this.x + o.x, this.y + o.y);
  }
  toString(): string {
    return `(${this.x},${this.y})`;
  }
}

class Path {
  points: Vec[] = [];
  meta = new Map<string, Vec>();
  add(v: Vec): this {
    this.points.push(v);
    return this;
  }
  total(): Vec {
    return this.points.reduce((a, b) => a.plus(b), new Vec(0, 0));
  }
}

class Path3 extends Path {
  label = 'three';
}

export async function main(): Promise<unknown> {
  const trace: string[] = [];
  const v = new Vec(3, 4);
  await checkpoint();
  trace.push(`length ${v.length} str ${String(v)} isVec ${v instanceof Vec}`);
  const path = new Path3().add(v).add(new Vec(1, 1));
  path.meta.set('origin', new Vec(0, 0));
  await checkpoint();
  path.add(path.total());
  trace.push(`total ${path.total().toString()} points ${path.points.length} label ${path.label}`);
  await checkpoint();
  const origin = path.meta.get('origin');
  trace.push(`origin isVec ${origin instanceof Vec} ${origin?.plus(v).toString()} subclass ${path instanceof Path3} ${path instanceof Path}`);
  trace.push(`proto ${Object.getPrototypeOf(path) === Path3.prototype} ctor ${path.constructor.name}`);
  return trace;
}
