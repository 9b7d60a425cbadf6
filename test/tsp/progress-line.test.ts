import { describe, expect, it } from 'vitest';
import { ProgressLine } from '../../samples/tsp/progress-line.ts';

function capture(): { out: { write(s: string): void }; text(): string } {
  let text = '';
  return { out: { write: (s: string) => void (text += s) }, text: () => text };
}

describe('the TSP progress line', () => {
  it('shows generation, best, gap and exchanges, and counts a dead peer out once however many islands left it', () => {
    const c = capture();
    const line = new ProgressLine({ generations: 100, islands: 3, optimum: 7542 }, c.out);
    line.started(3);
    line.progress({ island: 0, generation: 20, bestLength: 8000, migrations: 2 });
    line.progress({ island: 1, generation: 10, bestLength: 7600, migrations: 1 });
    line.migrated({ island: 0, from: 'aaaaaaaaaaaa', to: 'bbbbbbbbbbbb', reason: 'failure' });
    line.migrated({ island: 1, from: 'aaaaaaaaaaaa', to: 'cccccccccccc', reason: 'failure' });
    line.finish();
    const last = c.text().trim().split('\n').at(-1)!;
    expect(last).toMatch(/^gen 10\/100 {2}best 7600 gap 0\.77% {2}peers 2 {2}exchanges 3 {2}moved 2 /);
    expect(c.text()).toContain('island 1 moved from peer aaaaaaaa to cccccccc (failure), resuming from its last checkpoint');
  });
});
