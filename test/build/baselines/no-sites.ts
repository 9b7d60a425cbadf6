// A module without checkpoints: only the runtime registrations are added.
export class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

export function norm(p: Point): number {
  return Math.hypot(p.x, p.y);
}

function helper(): number {
  return 1;
}

export { helper as one };
