/** A strict flag parser: an unknown or malformed flag is an error that says what was expected. */
import { UsageError } from './errors.ts';

export interface FlagSpec {
  /** 'string' takes a value, 'boolean' does not. */
  [flag: string]: 'string' | 'boolean';
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

export function parseArgs(argv: readonly string[], spec: FlagSpec, usage: string): Parsed {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean | undefined> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const kind = spec[name];
    if (kind === undefined) {
      const known = Object.keys(spec).map((f) => `--${f}`).join(', ') || 'none';
      throw new UsageError(`unknown flag --${name} (known flags: ${known}); usage: ${usage}`);
    }
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value; usage: ${usage}`);
      flags[name] = true;
    } else {
      const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq === -1 && value.startsWith('--'))) {
        throw new UsageError(`--${name} needs a value; usage: ${usage}`);
      }
      flags[name] = value;
    }
  }
  return { positionals, flags };
}

/** Reads a flag as a positive integer (or, with `min` 0, a non-negative one), or throws a UsageError naming the flag. */
export function positiveInt(flags: Parsed['flags'], name: string, usage: string, min: 0 | 1 = 1): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be ${min === 1 ? 'a positive integer' : 'an integer >= 0'}, got '${String(v)}'; usage: ${usage}`);
  }
  return n;
}
