// Returns from inside nested loops, a switch and a labeled block after checkpoints; a return
// value computed from locals restored at the checkpoint.
import { checkpoint } from 'ppp2p';

async function find(grid: number[][], target: number): Promise<string> {
  for (let r = 0; r < grid.length; r++) {
    const row = grid[r]!;
    for (let c = 0; c < row.length; c++) {
      await checkpoint();
      if (row[c] === target) return `found ${target} at ${r},${c}`;
    }
  }
  return `no ${target}`;
}

async function classify(n: number): Promise<string> {
  switch (n % 3) {
    case 0:
      await checkpoint();
      return 'fizz';
    case 1: {
      const s = `one-${n}`;
      await checkpoint();
      return s;
    }
  }
  check: {
    if (n > 4) break check;
    await checkpoint();
    return 'small two';
  }
  return 'big two';
}

export async function main(): Promise<unknown> {
  const grid = [
    [1, 2],
    [3, 4],
  ];
  return [await find(grid, 3), await find([[7]], 9), await classify(3), await classify(4), await classify(2), await classify(8)];
}
