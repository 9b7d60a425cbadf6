/**
 * The donor's usage policy: which work this machine accepts, from whom, when, and with what limits. It comes from the
 * `--config` file (reloaded on SIGHUP) and from flags, the flags winning field by field. This module is pure logic
 * plus the file: it decides, the daemon enforces.
 *
 * ```ts
 * const file = new PolicyFile('peer.json', (p) => apply(mergePolicy(p, flags)), log);
 * let policy = mergePolicy(file.load(), flags);          // throws PolicyError: start-up fails with the reason
 * process.on('SIGHUP', () => file.reload());             // a bad file is logged and the previous policy kept
 * acceptsWorkAt(policy, new Date());                     // inside an `hours` window?
 * setTimeout(recheck, nextWindowChange(policy, new Date())!.getTime() - Date.now());
 * ```
 *
 * Hours are weekly windows in local time, `<days> <start>-<end>`:
 *
 * ```text
 * "Sun 10:00-12:00"       one day
 * "Mon-Fri 18:00-08:00"   each of Mon..Fri from 18:00 to 08:00 the next morning (an end before the start wraps past midnight)
 * "Fri-Mon 00:00-24:00"   Fri, Sat, Sun and Mon whole days (a day range wraps the week end)
 * ```
 *
 * Inside, a window is a set of intervals of week-minutes: minutes since Monday 00:00, in [0, WEEK_MINUTES].
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { createLogger } from '../protocol/log.ts';
import { PolicyError } from './errors.ts';

export { PolicyError } from './errors.ts';
import { SANDBOX_MODES } from './host/sandbox.ts';

export interface UsagePolicy {
  /** Threads run here at once (integer >= 0; 0 donates nothing). @default the machine's cores */
  slots?: number;
  /** Fraction of the machine's cores executors may use, 0 < x <= 1. @default 1 */
  maxCpuShare?: number;
  /** Weekly windows in local time when work is accepted, e.g. `["Mon-Fri 18:00-08:00"]`. @default always */
  hours?: string[];
  /** The machine counts as in use (no new work) while the 1-minute load average per core is above `maxLoad`. @default never in use */
  onlyWhenIdle?: { maxLoad: number };
  /** Threads of one owner running here at once (integer >= 1). @default no quota */
  maxThreadsPerOwner?: number;
  /** IPs or CIDRs (v4 and v6) that may connect. @default any */
  allowAddresses?: string[];
  /** IPs or CIDRs refused, even when also allowed. @default none */
  blockAddresses?: string[];
  /** Owner peer ids (32 lowercase hex characters) whose threads run here. @default any */
  allowOwners?: string[];
  /** Owner peer ids whose threads never run here, even when also allowed. @default none */
  blockOwners?: string[];
  /** CPU seconds per thread placement (> 0). @default no limit */
  maxThreadCpuSeconds?: number;
  /** Wall-clock seconds per thread placement (> 0). @default no limit */
  maxThreadWallSeconds?: number;
  /** Memory of one executor process in total, MB (integer >= 64). @default 2048 */
  maxMemoryMb?: number;
  /** Executor crashes one thread of this controller's own virtual computers may cause (anywhere) before it fails (integer >= 1). @default 3 */
  maxErrors?: number;
  /** How executors are isolated. @default the daemon's */
  sandbox?: 'strict' | 'process' | 'off';
}

export const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
/** The floor of maxMemoryMb: a bare Node process already takes some 40 MB, so a smaller cap leaves a thread nothing. */
export const MIN_MEMORY_MB = 64;

const DAY_MINUTES = 24 * 60;
const WEEK_MINUTES = 7 * DAY_MINUTES;
const MINUTE_MS = 60_000;
/** Longer than any daylight-saving jump, so a search back from a skipped local time starts before the jump. */
const MAX_CLOCK_JUMP_MS = 3 * 60 * MINUTE_MS;
const PEER_ID = /^[0-9a-f]{32}$/;
/** Items of a list shown by describePolicy before "and N more". */
const DESCRIBE_ITEMS = 5;

// ---------------------------------------------------------------------------------------------------------------
// Validation

type Check = (value: unknown, where: string, field: string) => unknown;

const integerAtLeast =
  (min: number, example: string): Check =>
  (v, where, field) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      fail(where, field, `must be an integer >= ${min}, got ${show(v)}; e.g. "${field}": ${example}`);
    }
    return v;
  };

const positiveNumber =
  (example: string): Check =>
  (v, where, field) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(where, field, `must be a number > 0, got ${show(v)}; e.g. "${field.slice(field.lastIndexOf('.') + 1)}": ${example}`);
    }
    return v;
  };

/**
 * A list of strings. `ifRemoved` (what leaving the field out means) is set for the lists that must not be empty: an
 * empty `hours` or allow list would refuse all work, more likely a mistake than a wish (`slots: 0` says that plainly).
 */
const list =
  (item: (s: string, where: string, field: string) => string, example: string, ifRemoved?: string): Check =>
  (v, where, field) => {
    if (!Array.isArray(v)) fail(where, field, `must be a list of strings, got ${show(v)}; e.g. "${field}": ${example}`);
    if (v.length === 0 && ifRemoved !== undefined) {
      fail(where, field, `is empty, which would refuse all work; remove it to ${ifRemoved}, or set "slots": 0 to take no work`);
    }
    return v.map((entry: unknown, i) => {
      if (typeof entry !== 'string') fail(where, `${field}[${i}]`, `must be a string, got ${show(entry)}; e.g. "${field}": ${example}`);
      return item(entry, where, `${field}[${i}]`);
    });
  };

const checks: { [K in keyof Required<UsagePolicy>]: Check } = {
  slots: integerAtLeast(0, '4'),
  maxCpuShare: (v, where, field) => {
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
      fail(where, field, `must be a fraction of the cores, 0 < x <= 1, got ${show(v)}; e.g. "${field}": 0.5 for half`);
    }
    return v;
  },
  hours: list(
    (s, where, field) => {
      parseWindow(s, where, field);
      return s;
    },
    '["Mon-Fri 18:00-08:00"]',
    'accept work at any time',
  ),
  onlyWhenIdle: (v, where, field) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      fail(where, field, `must be an object, got ${show(v)}; e.g. "${field}": {"maxLoad": 0.5}`);
    }
    rejectUnknownKeys(v, ['maxLoad'], where, `${field}.`);
    if (!('maxLoad' in v)) fail(where, field, `needs "maxLoad", the load average per core above which the machine is in use; e.g. {"maxLoad": 0.5}`);
    return { maxLoad: positiveNumber('0.5')((v as { maxLoad: unknown }).maxLoad, where, `${field}.maxLoad`) as number };
  },
  maxThreadsPerOwner: integerAtLeast(1, '2'),
  allowAddresses: list(checkAddress, '["10.0.0.0/8", "::1"]', 'let any address connect'),
  blockAddresses: list(checkAddress, '["10.0.0.0/8", "::1"]'),
  allowOwners: list(checkOwner, '["<32 hex peer id>"]', 'run any owner\'s threads'),
  blockOwners: list(checkOwner, '["<32 hex peer id>"]'),
  maxThreadCpuSeconds: positiveNumber('3600'),
  maxThreadWallSeconds: positiveNumber('7200'),
  maxMemoryMb: integerAtLeast(MIN_MEMORY_MB, '512'),
  maxErrors: integerAtLeast(1, '3'),
  sandbox: (v, where, field) => {
    if (typeof v !== 'string' || !(SANDBOX_MODES as readonly string[]).includes(v)) {
      const hint = typeof v === 'string' ? didYouMean(v, SANDBOX_MODES) : '';
      fail(where, field, `must be one of ${SANDBOX_MODES.map((m) => `"${m}"`).join(', ')}, got ${show(v)}${hint}`);
    }
    return v;
  },
};
const FIELDS = Object.keys(checks) as (keyof UsagePolicy)[];

/** Validates a parsed JSON object as a usage policy and returns a copy; `where` names its source for the messages ("peer.json"). */
export function parsePolicy(value: unknown, where: string): UsagePolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyError(`${where}: a usage policy must be a JSON object, got ${show(value)}; e.g. {"slots": 2, "hours": ["Mon-Fri 18:00-08:00"]}`, where);
  }
  rejectUnknownKeys(value, FIELDS, where, '');
  const policy: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const v = (value as Record<string, unknown>)[field];
    // A JSON file cannot hold undefined; an object built from unset flags can, and means "not given".
    if (v !== undefined) policy[field] = checks[field](v, where, field);
  }
  return policy as UsagePolicy;
}

function rejectUnknownKeys(value: object, known: readonly string[], where: string, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const hint = didYouMean(key, known);
    throw new PolicyError(
      `${where}: unknown field "${prefix}${key}"${hint || `; known fields: ${known.join(', ')}`}`,
      where,
      `${prefix}${key}`,
    );
  }
}

function checkAddress(entry: string, where: string, field: string): string {
  if (parseAddressRule(entry) === undefined) {
    fail(where, field, `is not an IP address or CIDR, got ${show(entry)}; write e.g. "192.168.1.7", "10.0.0.0/8", "::1" or "fd00::/8"`);
  }
  return entry;
}

function checkOwner(entry: string, where: string, field: string): string {
  if (!PEER_ID.test(entry)) {
    const fix = PEER_ID.test(entry.toLowerCase()) ? 'write it in lowercase' : 'copy the owner\'s id from `ppp2p status` on its machine';
    fail(where, field, `must be a peer id of 32 lowercase hex characters, got ${show(entry)}; ${fix}`);
  }
  return entry;
}

function fail(where: string, field: string, message: string): never {
  throw new PolicyError(`${where}: ${field} ${message}`, where, field);
}

/** A bad value as the message shows it: short, and typed when it is not a string or number. */
function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'undefined') return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `; did you mean "x"?` for the closest known name, ignoring case, dashes and underscores (so `max-cpu-share` finds `maxCpuShare`). */
function didYouMean(input: string, known: readonly string[]): string {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  const want = norm(input);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(want.length / 3));
  for (const k of known) {
    const d = editDistance(want, norm(k));
    if (d <= bestDistance && (best === undefined || d < bestDistance)) [best, bestDistance] = [k, d];
  }
  if (best === undefined && want.length >= 3) {
    const prefixed = known.filter((k) => norm(k).startsWith(want) || want.startsWith(norm(k)));
    if (prefixed.length === 1) best = prefixed[0];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------------------------------------------------------
// The file and the flags

/** Reads, parses and validates a policy file; every failure (missing, unreadable, bad JSON, bad field) is a PolicyError naming the path. */
export function readPolicyFile(path: string): UsagePolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? (e as Error).message);
    throw new PolicyError(`${path}: cannot read the usage policy file (${reason}); check the path given to --config`, path);
  }
  // Editors on Windows save UTF-8 with a byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    throw new PolicyError(`${path}${jsonErrorLocation(text, message)}: not valid JSON (${message}); the file must hold one JSON object, e.g. {"slots": 2}`, path);
  }
  return parsePolicy(value, path);
}

/** `:line:column` from a JSON.parse message: Node 20 gives an offset ("at position 11"), newer V8 the line and column. */
function jsonErrorLocation(text: string, message: string): string {
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lc !== null) return `:${lc[1]}:${lc[2]}`;
  const at = /at position (\d+)/.exec(message);
  if (at === null) return '';
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  return `:${line}:${before.length - before.lastIndexOf('\n')}`;
}

/** The file's policy with each field the flags set replacing the file's (lists are replaced, not joined). */
export function mergePolicy(file: UsagePolicy, flags: UsagePolicy): UsagePolicy {
  const merged: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  return merged as UsagePolicy;
}

// ---------------------------------------------------------------------------------------------------------------
// Hours

interface Interval {
  /** Week-minutes, start inclusive, end exclusive, 0 <= start < end <= WEEK_MINUTES. */
  start: number;
  end: number;
}

/** Parses one `hours` entry into week intervals, or throws a PolicyError naming the entry. */
function parseWindow(entry: string, where: string, field: string): Interval[] {
  const bad = (why: string): never => fail(where, field, `${show(entry)} ${why}`);
  const example = 'e.g. "Mon-Fri 18:00-08:00" or "Sun 10:00-12:00"';
  if (entry.trim() === '') bad(`is empty; ${example}`);
  const parts = entry.trim().replace(/\s*-\s*/g, '-').split(/\s+/);
  if (parts.length !== 2 || parts[0] === '') {
    if (parts.length === 1 && parts[0]!.includes(':')) bad(`has no days; start it with days, e.g. "Mon-Sun ${parts[0]}"`);
    if (parts.length === 1) bad(`has no times; add them, e.g. "${parts[0]} 00:00-24:00"`);
    bad(`is not "<days> <start>-<end>"; ${example}`);
  }
  const [days, times] = parts as [string, string];

  const dayNames = days.split('-');
  if (dayNames.length > 2) bad(`has more than two days in "${days}"; write one day or a range such as "Mon-Fri"`);
  const dayIndex = dayNames.map((name) => {
    const i = DAY_NAMES.findIndex((d) => d.toLowerCase() === name.toLowerCase());
    if (i !== -1) return i;
    const hint = name.includes(',') ? '; write each day or range as its own entry' : didYouMean(name, DAY_NAMES);
    return bad(`has an unknown day "${name}"${hint}; days are ${DAY_NAMES.join(' ')}`);
  });
  const first = dayIndex[0]!;
  const last = dayIndex[1] ?? first;
  if (dayNames.length === 2 && first === last) bad(`names "${dayNames[0]}" at both ends; write "${dayNames[0]}" for one day or "Mon-Sun" for every day`);

  const clock = times.split('-');
  if (clock.length !== 2) bad(`needs a start and an end time such as 18:00-08:00; ${example}`);
  const [start, end] = clock.map((t, i) => {
    const m = /^(\d{1,2}):(\d{2})$/.exec(t);
    const h = m === null ? NaN : Number(m[1]);
    const min = m === null ? NaN : Number(m[2]);
    const minutes = h * 60 + min;
    const isEnd = i === 1;
    if (!isEnd && minutes === DAY_MINUTES) bad(`starts at 24:00, which only ends a day; start at 00:00 (of the next day)`);
    if (!(h <= 23 && min <= 59) && !(isEnd && minutes === DAY_MINUTES)) {
      return bad(`has a bad time "${t}"; write HH:MM from 00:00 to 23:59${isEnd ? ', or 24:00 as an end' : ''}`);
    }
    return minutes;
  }) as [number, number];
  if (start === end) bad(`starts and ends at the same time; write 00:00-24:00 for a whole day`);

  const intervals: Interval[] = [];
  for (let k = 0; k <= (last - first + 7) % 7; k++) {
    const day = (first + k) % 7;
    const s = day * DAY_MINUTES + start;
    const e = day * DAY_MINUTES + end + (end < start ? DAY_MINUTES : 0);
    // Sunday's window that runs past midnight continues on Monday, at the start of the week.
    if (e <= WEEK_MINUTES) intervals.push({ start: s, end: e });
    else intervals.push({ start: s, end: WEEK_MINUTES }, { start: 0, end: e - WEEK_MINUTES });
  }
  return intervals;
}

function intervalsOf(hours: readonly string[]): Interval[] {
  return hours.flatMap((h, i) => parseWindow(h, 'usage policy', `hours[${i}]`));
}

function covered(intervals: readonly Interval[], weekMinute: number): boolean {
  return intervals.some((iv) => iv.start <= weekMinute && weekMinute < iv.end);
}

/** Where `when` falls in its local week, in (fractional) minutes since Monday 00:00. */
function weekMinuteOf(when: Date): number {
  const day = (when.getDay() + 6) % 7;
  return day * DAY_MINUTES + when.getHours() * 60 + when.getMinutes() + (when.getSeconds() * 1000 + when.getMilliseconds()) / MINUTE_MS;
}

/** Whether work is accepted at `when` (local time): inside one of the `hours` windows, or always when there are none. */
export function acceptsWorkAt(policy: UsagePolicy, when: Date): boolean {
  if (policy.hours === undefined) return true;
  return covered(intervalsOf(policy.hours), weekMinuteOf(when));
}

/**
 * The first instant after `when` at which acceptsWorkAt changes its answer, or undefined if it never does (no hours,
 * or windows covering the whole week). The daemon sets one timer for it and asks again when it fires.
 *
 * Windows are local wall-clock times: a boundary the clocks skip (spring forward) is passed at the jump itself.
 * When clocks go back, an hour is lived twice; a boundary inside it is reported at its first occurrence only.
 */
export function nextWindowChange(policy: UsagePolicy, when: Date): Date | undefined {
  if (policy.hours === undefined) return undefined;
  const intervals = intervalsOf(policy.hours);
  // Only boundaries where coverage changes: adjacent or overlapping windows share edges that flip nothing.
  const flips = [...new Set(intervals.flatMap((iv) => [iv.start, iv.end % WEEK_MINUTES]))]
    .filter((m) => covered(intervals, m) !== covered(intervals, (m - 0.5 + WEEK_MINUTES) % WEEK_MINUTES))
    .sort((a, b) => a - b);
  if (flips.length === 0) return undefined;
  const now = acceptsWorkAt(policy, when);
  const monday = when.getDate() - ((when.getDay() + 6) % 7);
  // This week's remaining boundaries, then next week's; a third week only matters if a clock change swallowed one.
  for (let week = 0; week < 3; week++) {
    for (const m of flips) {
      const minuteOfDay = m % DAY_MINUTES;
      const at = localInstant(when.getFullYear(), when.getMonth(), monday + week * 7 + Math.floor(m / DAY_MINUTES), Math.floor(minuteOfDay / 60), minuteOfDay % 60);
      if (at.getTime() > when.getTime() && acceptsWorkAt(policy, at) !== now) return at;
    }
  }
  return undefined;
}

/** The first instant whose local wall clock reads at least y-mo-d h:mi (the Date constructor moves a skipped time past the jump). */
function localInstant(y: number, mo: number, d: number, h: number, mi: number): Date {
  const at = new Date(y, mo, d, h, mi);
  const want = Date.UTC(y, mo, d, h, mi);
  const wallClock = (t: Date): number => Date.UTC(t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds(), t.getMilliseconds());
  if (wallClock(at) === want) return at;
  // Invariant: wallClock(lo) < want <= wallClock(hi); the jump is the first millisecond past it.
  let lo = at.getTime() - MAX_CLOCK_JUMP_MS;
  let hi = at.getTime();
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(new Date(mid)) >= want) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses, owners, load, slots

/** An address or CIDR as BlockList takes it; undefined when it is neither. IPv4-mapped IPv6 addresses become IPv4. */
function parseAddressRule(rule: string): { address: string; family: 'ipv4' | 'ipv6'; prefix?: number } | undefined {
  const slash = rule.indexOf('/');
  const written = slash === -1 ? rule : rule.slice(0, slash);
  const address = unmapIPv4(written);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) return { address, family };
  const bits = rule.slice(slash + 1);
  // A mapped subnet (::ffff:10.0.0.0/104) counts its prefix over 128 bits, the first 96 of them the ::ffff: part.
  const prefix = Number(bits) - (address === written ? 0 : 96);
  if (!/^\d{1,3}$/.test(bits) || prefix < 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, family, prefix };
}

/**
 * `::ffff:10.1.2.3` (and `::ffff:a01:203`) as `10.1.2.3`: a dual-stack server reports IPv4 peers that way, and the
 * donor's rules for them are written in IPv4.
 */
function unmapIPv4(address: string): string {
  const dotted = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (dotted !== null) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex === null) return address;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

function blockListOf(rules: readonly string[]): BlockList {
  const list = new BlockList();
  for (const rule of rules) {
    const r = parseAddressRule(rule);
    if (r === undefined) throw new PolicyError(`usage policy: address rule ${show(rule)} is not an IP address or CIDR; validate policies with parsePolicy`, 'usage policy');
    if (r.prefix === undefined) list.addAddress(r.address, r.family);
    else list.addSubnet(r.address, r.prefix, r.family);
  }
  return list;
}

/** Whether a peer at `address` (a socket's remote address) may connect: not blocked, and allowed when there is an allow list. */
export function addressAllowed(policy: UsagePolicy, address: string): boolean {
  if (policy.allowAddresses === undefined && policy.blockAddresses === undefined) return true;
  const a = parseAddressRule(address.replace(/%.*$/, ''));
  // An address that cannot be matched against the rules cannot be shown to pass them.
  if (a === undefined || a.prefix !== undefined) return false;
  if (policy.blockAddresses !== undefined && blockListOf(policy.blockAddresses).check(a.address, a.family)) return false;
  return policy.allowAddresses === undefined || blockListOf(policy.allowAddresses).check(a.address, a.family);
}

/** Whether threads of the owner with this peer id may run here: not blocked, and allowed when there is an allow list. */
export function ownerAllowed(policy: UsagePolicy, ownerId: string): boolean {
  if (policy.blockOwners?.includes(ownerId) === true) return false;
  return policy.allowOwners === undefined || policy.allowOwners.includes(ownerId);
}

/** Whether the donor is using the machine (so it takes no new work): the 1-minute load per core is above `onlyWhenIdle.maxLoad`. */
export function machineInUse(policy: UsagePolicy, load1: number, cores: number): boolean {
  if (policy.onlyWhenIdle === undefined) return false;
  return load1 / Math.max(1, cores) > policy.onlyWhenIdle.maxLoad;
}

/**
 * Threads this machine runs at once: `slots` (default one per core), capped by `maxCpuShare` of the cores. A share
 * smaller than one core still leaves one slot: the donor asked for a little work, not none (`slots: 0` is none).
 */
export function effectiveSlots(policy: UsagePolicy, cores: number): number {
  const slots = policy.slots ?? cores;
  if (policy.maxCpuShare === undefined || slots === 0) return slots;
  // The epsilon keeps 100 cores * 0.29 (28.999999999999996 in floating point) at 29.
  return Math.min(slots, Math.max(1, Math.floor(cores * policy.maxCpuShare + 1e-9)));
}

// ---------------------------------------------------------------------------------------------------------------
// Description

/** Short lines for `ppp2p peer` start-up and `ppp2p status`, one per field set, e.g. "hours: Mon-Fri 18:00-08:00 (local time)". */
export function describePolicy(policy: UsagePolicy): string[] {
  const items = (xs: readonly string[]): string =>
    xs.length <= DESCRIBE_ITEMS ? xs.join(', ') : `${xs.slice(0, DESCRIBE_ITEMS).join(', ')} and ${xs.length - DESCRIBE_ITEMS} more`;
  const p = policy;
  const lines = [
    p.slots !== undefined && `slots: ${p.slots}`,
    p.maxCpuShare !== undefined && `max CPU share: ${Math.round(p.maxCpuShare * 100)}% of the cores`,
    p.hours !== undefined && `hours: ${items(p.hours)} (local time)`,
    p.onlyWhenIdle !== undefined && `only when idle: load per core at most ${p.onlyWhenIdle.maxLoad}`,
    p.maxThreadsPerOwner !== undefined && `max threads per owner: ${p.maxThreadsPerOwner}`,
    p.allowAddresses !== undefined && `allowed addresses: ${items(p.allowAddresses)}`,
    p.blockAddresses !== undefined && p.blockAddresses.length > 0 && `blocked addresses: ${items(p.blockAddresses)}`,
    p.allowOwners !== undefined && `allowed owners: ${items(p.allowOwners)}`,
    p.blockOwners !== undefined && p.blockOwners.length > 0 && `blocked owners: ${items(p.blockOwners)}`,
    p.maxThreadCpuSeconds !== undefined && `CPU time per thread placement: ${p.maxThreadCpuSeconds} s`,
    p.maxThreadWallSeconds !== undefined && `wall time per thread placement: ${p.maxThreadWallSeconds} s`,
    p.maxMemoryMb !== undefined && `memory per executor: ${p.maxMemoryMb} MB`,
    p.maxErrors !== undefined && `executor crashes per thread: ${p.maxErrors}`,
    p.sandbox !== undefined && `sandbox: ${p.sandbox}`,
  ].filter((line): line is string => line !== false);
  return lines.length > 0 ? lines : ['no usage policy: any time, any address, any owner'];
}

// ---------------------------------------------------------------------------------------------------------------
// The config file

/** The `--config` file: loaded once at start-up (failing loudly), reloaded on SIGHUP (failing softly). */
export class PolicyFile {
  readonly path: string;
  readonly #onChange: (p: UsagePolicy) => void;
  readonly #log: { info(m: string): void; warn(m: string): void };
  #current: UsagePolicy | undefined;

  /** `onChange` is called by reload() with each good new policy, not by load(). @param log @default a logger on stderr, component `usage-policy` */
  constructor(path: string, onChange: (p: UsagePolicy) => void, log?: { info(m: string): void; warn(m: string): void }) {
    this.path = path;
    this.#onChange = onChange;
    this.#log = log ?? createLogger({ component: 'usage-policy' });
  }

  /** The policy last read successfully. */
  get current(): UsagePolicy {
    // An empty policy allows everything, so reading before load() must not quietly mean "no policy".
    if (this.#current === undefined) throw new Error(`PolicyFile ${this.path}: current read before load()`);
    return this.#current;
  }

  /** Reads the file at start-up; throws a PolicyError so the daemon does not start with a policy the donor did not write. */
  load(): UsagePolicy {
    this.#current = readPolicyFile(this.path);
    return this.#current;
  }

  /** Reads the file again (SIGHUP): a good one replaces the policy and calls onChange (true); a bad one is logged and the previous policy kept (false). */
  reload(): boolean {
    let next: UsagePolicy;
    try {
      next = readPolicyFile(this.path);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      this.#log.warn(`${e.message}; kept the previous usage policy`);
      return false;
    }
    this.#current = next;
    this.#log.info(`usage policy reloaded from ${this.path}: ${describePolicy(next).join('; ')}`);
    this.#onChange(next);
    return true;
  }
}
