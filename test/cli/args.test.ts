import { describe, expect, it } from 'vitest';
import { parseArgs, positiveInt } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/errors.ts';

const usage = 'tool <x> [--n N] [--json]';
const spec = { n: 'string', json: 'boolean' } as const;

describe('command-line flags', () => {
  it('parses positionals, valued flags in both spellings, and booleans', () => {
    const p = parseArgs(['a', '--n', '3', 'b', '--json'], spec, usage);
    expect(p.positionals).toEqual(['a', 'b']);
    expect(p.flags).toEqual({ n: '3', json: true });
    expect(parseArgs(['--n=4'], spec, usage).flags.n).toBe('4');
  });

  it('rejects an unknown flag, naming it and the known ones', () => {
    expect(() => parseArgs(['--nope'], spec, usage)).toThrow(UsageError);
    expect(() => parseArgs(['--nope'], spec, usage)).toThrow(/unknown flag --nope \(known flags: --n, --json\)/);
  });

  it('rejects a missing value and a value given to a boolean', () => {
    expect(() => parseArgs(['--n'], spec, usage)).toThrow(/--n needs a value/);
    expect(() => parseArgs(['--n', '--json'], spec, usage)).toThrow(/--n needs a value/);
    expect(() => parseArgs(['--json=1'], spec, usage)).toThrow(/--json takes no value/);
  });

  it('reads positive integers and explains a bad one', () => {
    expect(positiveInt({ n: '5' }, 'n', usage)).toBe(5);
    expect(positiveInt({}, 'n', usage)).toBeUndefined();
    for (const bad of ['0', '-1', '1.5', 'x']) {
      expect(() => positiveInt({ n: bad }, 'n', usage)).toThrow(`--n must be a positive integer, got '${bad}'`);
    }
  });

  it('takes 0 where a flag allows it, and still refuses negative numbers', () => {
    expect(positiveInt({ slots: '0' }, 'slots', usage, 0)).toBe(0);
    expect(() => positiveInt({ slots: '-1' }, 'slots', usage, 0)).toThrow("--slots must be an integer >= 0, got '-1'");
  });
});
