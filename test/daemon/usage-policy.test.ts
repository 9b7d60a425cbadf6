/**
 * The donor's usage policy as pure logic: validation and its messages, the policy file and its reloads, weekly hours
 * windows (wrapping past midnight and the week end, and across daylight-saving changes), address and owner lists,
 * load, slots and the human description. Dates are built with local-time constructors so the tests hold in any TZ.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError as DaemonPolicyError } from '../../src/daemon/errors.ts';
import {
  acceptsWorkAt,
  addressAllowed,
  describePolicy,
  effectiveSlots,
  machineInUse,
  mergePolicy,
  nextWindowChange,
  ownerAllowed,
  parsePolicy,
  PolicyError,
  PolicyFile,
  readPolicyFile,
  type UsagePolicy,
} from '../../src/daemon/usage-policy.ts';

const OWNER_A = '0123456789abcdef0123456789abcdef';
const OWNER_B = 'fedcba9876543210fedcba9876543210';

/** The PolicyError a call throws (failing the test if it throws nothing or something else). */
function policyError(f: () => unknown): PolicyError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('expected a PolicyError, nothing was thrown');
}

const dir = mkdtempSync(join(tmpdir(), 'ppp2p-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function tempFile(text: string): string {
  const path = join(dir, `policy-${files++}.json`);
  writeFileSync(path, text);
  return path;
}

// 2026-12-07 is a Monday.
const mon = (h: number, m = 0, s = 0, ms = 0): Date => new Date(2026, 11, 7, h, m, s, ms);
const day = (d: number, h: number, m = 0): Date => new Date(2026, 11, d, h, m);

describe('parsePolicy', () => {
  const full: UsagePolicy = {
    slots: 4,
    maxCpuShare: 0.5,
    hours: ['Mon-Fri 18:00-08:00', 'Sat-Sun 00:00-24:00'],
    onlyWhenIdle: { maxLoad: 0.7 },
    maxThreadsPerOwner: 2,
    allowAddresses: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'],
    blockAddresses: ['10.6.0.0/16'],
    allowOwners: [OWNER_A],
    blockOwners: [OWNER_B],
    maxThreadCpuSeconds: 3600,
    maxThreadWallSeconds: 7200.5,
    maxMemoryMb: 512,
    maxErrors: 3,
    sandbox: 'strict',
  };

  it('accepts every field and returns an equal copy, not the input object', () => {
    const input = structuredClone(full);
    const p = parsePolicy(input, 'peer.json');
    expect(p).toEqual(full);
    expect(p).not.toBe(input);
    expect(p.onlyWhenIdle).not.toBe(input.onlyWhenIdle);
    expect(p.hours).not.toBe(input.hours);
  });

  it('accepts an empty object as no policy, and treats undefined fields (unset flags) as absent', () => {
    expect(parsePolicy({}, 'peer.json')).toEqual({});
    const p = parsePolicy({ slots: undefined, sandbox: 'off' }, '--sandbox');
    expect(p).toEqual({ sandbox: 'off' });
    expect('slots' in p).toBe(false);
  });

  it('keeps empty block lists (they refuse nothing) but refuses empty allow lists and hours', () => {
    expect(parsePolicy({ blockAddresses: [], blockOwners: [] }, 'peer.json')).toEqual({ blockAddresses: [], blockOwners: [] });
    expect(policyError(() => parsePolicy({ allowAddresses: [] }, 'peer.json')).message).toBe(
      'peer.json: allowAddresses is empty, which would refuse all work; remove it to let any address connect, or set "slots": 0 to take no work',
    );
    expect(policyError(() => parsePolicy({ allowOwners: [] }, 'peer.json')).message).toContain("remove it to run any owner's threads");
    expect(policyError(() => parsePolicy({ hours: [] }, 'peer.json')).message).toContain('remove it to accept work at any time');
  });

  it.each([
    [null, 'null'],
    [[], 'a list'],
    ['slots=2', '"slots=2"'],
    [3, '3'],
  ])('refuses %j as a whole policy, naming where and showing an example', (value, shown) => {
    const e = policyError(() => parsePolicy(value, '--config peer.json'));
    expect(e.message).toBe(`--config peer.json: a usage policy must be a JSON object, got ${shown}; e.g. {"slots": 2, "hours": ["Mon-Fri 18:00-08:00"]}`);
    expect(e.where).toBe('--config peer.json');
    expect(e.field).toBeUndefined();
  });

  it.each([
    ['slot', 'slots'],
    ['Slots', 'slots'],
    ['max-cpu-share', 'maxCpuShare'],
    ['max_memory_mb', 'maxMemoryMb'],
    ['allowedAddresses', 'allowAddresses'],
    ['blockOwner', 'blockOwners'],
    ['hour', 'hours'],
    ['sandboxing', 'sandbox'],
  ])('refuses the unknown field %s and suggests %s', (key, suggestion) => {
    const e = policyError(() => parsePolicy({ [key]: 1 }, 'peer.json'));
    expect(e.message).toBe(`peer.json: unknown field "${key}" (did you mean "${suggestion}"?)`);
    expect(e.field).toBe(key);
  });

  it('lists the known fields when no field is close to an unknown one', () => {
    const e = policyError(() => parsePolicy({ slots: 1, colour: 'blue' }, 'peer.json'));
    expect(e.message).toMatch(/^peer\.json: unknown field "colour"; known fields: slots, maxCpuShare, hours, .*, sandbox$/);
  });

  it('refuses an unknown field inside onlyWhenIdle with its full path', () => {
    const e = policyError(() => parsePolicy({ onlyWhenIdle: { maxload: 1 } }, 'peer.json'));
    expect(e.message).toBe('peer.json: unknown field "onlyWhenIdle.maxload" (did you mean "maxLoad"?)');
    expect(e.field).toBe('onlyWhenIdle.maxload');
  });

  it.each<[string, unknown, string]>([
    ['slots', -1, 'slots must be an integer >= 0, got -1; e.g. "slots": 4'],
    ['slots', 2.5, 'slots must be an integer >= 0, got 2.5'],
    ['slots', '4', 'slots must be an integer >= 0, got "4"'],
    ['maxCpuShare', 0, 'maxCpuShare must be a fraction of the cores, 0 < x <= 1, got 0; e.g. "maxCpuShare": 0.5 for half'],
    ['maxCpuShare', 1.5, 'got 1.5'],
    ['maxCpuShare', '50%', 'got "50%"'],
    ['onlyWhenIdle', true, 'onlyWhenIdle must be an object, got true; e.g. "onlyWhenIdle": {"maxLoad": 0.5}'],
    ['onlyWhenIdle', [0.5], 'onlyWhenIdle must be an object, got a list'],
    ['onlyWhenIdle', {}, 'onlyWhenIdle needs "maxLoad"'],
    ['onlyWhenIdle', { maxLoad: 0 }, 'onlyWhenIdle.maxLoad must be a number > 0, got 0; e.g. "maxLoad": 0.5'],
    ['onlyWhenIdle', { maxLoad: null }, 'onlyWhenIdle.maxLoad must be a number > 0, got null'],
    ['maxThreadsPerOwner', 0, 'maxThreadsPerOwner must be an integer >= 1, got 0'],
    ['maxThreadCpuSeconds', 0, 'maxThreadCpuSeconds must be a number > 0, got 0; e.g. "maxThreadCpuSeconds": 3600'],
    ['maxThreadCpuSeconds', -5, 'got -5'],
    ['maxThreadWallSeconds', '2h', 'maxThreadWallSeconds must be a number > 0, got "2h"'],
    ['maxMemoryMb', 32, 'maxMemoryMb must be an integer >= 64, got 32; e.g. "maxMemoryMb": 512'],
    ['maxMemoryMb', 128.5, 'got 128.5'],
    ['maxErrors', 0, 'maxErrors must be an integer >= 1, got 0'],
    ['sandbox', 'strick', 'sandbox must be one of "strict", "process", "off", got "strick" (did you mean "strict"?)'],
    ['sandbox', true, 'sandbox must be one of "strict", "process", "off", got true'],
    ['hours', 'Mon-Fri 18:00-08:00', 'hours must be a list of strings, got "Mon-Fri 18:00-08:00"; e.g. "hours": ["Mon-Fri 18:00-08:00"]'],
    ['allowAddresses', '10.0.0.0/8', 'allowAddresses must be a list of strings, got "10.0.0.0/8"'],
    ['blockOwners', { id: OWNER_A }, 'blockOwners must be a list of strings, got an object'],
  ])('refuses %s = %j', (field, value, message) => {
    const e = policyError(() => parsePolicy({ [field]: value }, 'peer.json'));
    expect(e.message.startsWith(`peer.json: ${field}`)).toBe(true);
    expect(e.message).toContain(message);
    expect(e.field?.split('.')[0]).toBe(field);
  });

  it('names the entry of a list that is not a string', () => {
    const e = policyError(() => parsePolicy({ blockAddresses: ['10.0.0.1', 7] }, 'peer.json'));
    expect(e.message).toBe('peer.json: blockAddresses[1] must be a string, got 7; e.g. "blockAddresses": ["10.0.0.0/8", "::1"]');
    expect(e.field).toBe('blockAddresses[1]');
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0/8', '10.0.0.0/8x', '10.0.0.0/-1', 'fd00::/129', '::ffff:10.0.0.0/95', 'localhost', '256.1.1.1', 'fe80::1%eth0', ''])(
    'refuses the address rule %j',
    (rule) => {
      const e = policyError(() => parsePolicy({ allowAddresses: ['127.0.0.1', rule] }, 'peer.json'));
      expect(e.message).toBe(
        `peer.json: allowAddresses[1] is not an IP address or CIDR, got ${JSON.stringify(rule)}; write e.g. "192.168.1.7", "10.0.0.0/8", "::1" or "fd00::/8"`,
      );
    },
  );

  it.each(['10.0.0.0/8', '10.1.2.3/8', '0.0.0.0/0', '192.168.1.7', '::1', 'fd00::/8', '::/0', '::ffff:10.0.0.1', '::ffff:10.0.0.0/104'])('accepts the address rule %j', (rule) => {
    expect(parsePolicy({ blockAddresses: [rule] }, 'peer.json').blockAddresses).toEqual([rule]);
  });

  it('refuses an owner id in upper case, saying to write it in lower case', () => {
    const e = policyError(() => parsePolicy({ allowOwners: [OWNER_A.toUpperCase()] }, 'peer.json'));
    expect(e.message).toBe(`peer.json: allowOwners[0] must be a peer id of 32 lowercase hex characters, got "${OWNER_A.toUpperCase()}"; write it in lowercase`);
  });

  it.each(['abc', `${OWNER_A}0`, OWNER_A.replace('a', 'g')])('refuses the owner id %j, saying where ids come from', (id) => {
    const e = policyError(() => parsePolicy({ blockOwners: [id] }, 'peer.json'));
    expect(e.message).toContain(`blockOwners[0] must be a peer id of 32 lowercase hex characters, got "${id}"; copy the owner's id from \`ppp2p status\``);
  });

  it.each([
    ['', 'is empty; e.g. "Mon-Fri 18:00-08:00" or "Sun 10:00-12:00"'],
    ['18:00-08:00', 'has no days; start it with days, e.g. "Mon-Sun 18:00-08:00"'],
    ['Mon-Fri', 'has no times; add them, e.g. "Mon-Fri 00:00-24:00"'],
    ['Mon 09:00-17:00 daily', 'is not "<days> <start>-<end>"'],
    ['Mon-Fry 18:00-08:00', 'has an unknown day "Fry" (did you mean "Fri"?); days are Mon Tue Wed Thu Fri Sat Sun'],
    ['Monday 09:00-17:00', 'has an unknown day "Monday" (did you mean "Mon"?)'],
    ['Thurs 09:00-17:00', 'has an unknown day "Thurs" (did you mean "Thu"?)'],
    ['Xyz 09:00-17:00', 'has an unknown day "Xyz"; days are Mon'],
    ['Mon,Wed 09:00-17:00', 'has an unknown day "Mon,Wed"; write each day or range as its own entry'],
    ['Mon-Wed-Fri 09:00-17:00', 'has more than two days in "Mon-Wed-Fri"'],
    ['Mon-mon 09:00-17:00', 'names "Mon" at both ends; write "Mon" for one day or "Mon-Sun" for every day'],
    ['Mon 09:00', 'needs a start and an end time such as 18:00-08:00'],
    ['Mon 9-17', 'has a bad time "9"; write HH:MM from 00:00 to 23:59'],
    ['Mon 24:00-08:00', 'starts at 24:00, which only ends a day; start at 00:00 (of the next day)'],
    ['Mon 09:00-25:00', 'has a bad time "25:00"'],
    ['Mon 09:00-24:01', 'has a bad time "24:01"; write HH:MM from 00:00 to 23:59, or 24:00 as an end'],
    ['Mon 09:60-10:00', 'has a bad time "09:60"'],
    ['Mon 123:00-10:00', 'has a bad time "123:00"'],
    ['Mon 09:00-09:00', 'starts and ends at the same time; write 00:00-24:00 for a whole day'],
    ['Mon 00:00-00:00', 'starts and ends at the same time'],
  ])('refuses the hours entry %j', (entry, why) => {
    const e = policyError(() => parsePolicy({ hours: ['Sat 10:00-12:00', entry] }, 'peer.json'));
    expect(e.message).toContain(`peer.json: hours[1] ${JSON.stringify(entry)} ${why}`);
    expect(e.field).toBe('hours[1]');
  });

  it.each(['mon-FRI 18:00-08:00', 'Sun 10:00-12:00', 'Fri - Mon  8:00 - 17:30', '  Sat-Sun 00:00-24:00 ', 'Tue-Mon 00:00-24:00'])(
    'accepts the hours entry %j as written',
    (entry) => {
      expect(parsePolicy({ hours: [entry] }, 'peer.json').hours).toEqual([entry]);
    },
  );

  it('is the daemon error class, with its name', () => {
    const e = policyError(() => parsePolicy({ slots: -1 }, 'peer.json'));
    expect(e).toBeInstanceOf(DaemonPolicyError);
    expect(e.name).toBe('PolicyError');
    expect(e.where).toBe('peer.json');
    expect(e.field).toBe('slots');
  });
});

describe('readPolicyFile', () => {
  it('reads, parses and validates a file', () => {
    const path = tempFile('{ "slots": 2, "hours": ["Sat-Sun 00:00-24:00"] }\n');
    expect(readPolicyFile(path)).toEqual({ slots: 2, hours: ['Sat-Sun 00:00-24:00'] });
  });

  it('accepts a file saved with a UTF-8 byte order mark', () => {
    expect(readPolicyFile(tempFile('\uFEFF{"maxErrors": 2}'))).toEqual({ maxErrors: 2 });
  });

  it('names the path and the --config flag when the file is missing', () => {
    const path = join(dir, 'missing.json');
    const e = policyError(() => readPolicyFile(path));
    expect(e.message).toBe(`${path}: cannot read the usage policy file (no such file); check the path given to --config`);
    expect(e.where).toBe(path);
  });

  it('says when the path is a directory', () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    expect(policyError(() => readPolicyFile(path)).message).toBe(`${path}: cannot read the usage policy file (it is a directory); check the path given to --config`);
  });

  it('gives the line and column of a JSON syntax error', () => {
    const path = tempFile('{\n  "slots": 2,\n}\n');
    const e = policyError(() => readPolicyFile(path));
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:1: not valid JSON \\(.+\\); the file must hold one JSON object, e.g. \\{"slots": 2\\}$`));
  });

  it('names the path for an empty file', () => {
    const path = tempFile('');
    expect(policyError(() => readPolicyFile(path)).message).toContain(`${path}: not valid JSON (Unexpected end of JSON input)`);
  });

  it('names the path, the field and the fix for a bad field', () => {
    const path = tempFile('{"maxCpuShare": 2}');
    const e = policyError(() => readPolicyFile(path));
    expect(e.message).toBe(`${path}: maxCpuShare must be a fraction of the cores, 0 < x <= 1, got 2; e.g. "maxCpuShare": 0.5 for half`);
    expect(e.field).toBe('maxCpuShare');
  });
});

describe('mergePolicy', () => {
  const file: UsagePolicy = { slots: 8, hours: ['Mon-Fri 18:00-08:00'], blockAddresses: ['10.0.0.0/8'], sandbox: 'strict' };

  it('lets each field the flags set win and keeps the file for the rest', () => {
    expect(mergePolicy(file, { slots: 2, sandbox: 'process' })).toEqual({
      slots: 2,
      hours: ['Mon-Fri 18:00-08:00'],
      blockAddresses: ['10.0.0.0/8'],
      sandbox: 'process',
    });
  });

  it('replaces a list from the file instead of joining it', () => {
    expect(mergePolicy(file, { blockAddresses: ['::1'] }).blockAddresses).toEqual(['::1']);
  });

  it('lets a flag set to 0 win, and an unset (undefined) flag not erase the file', () => {
    const merged = mergePolicy(file, { slots: 0, hours: undefined });
    expect(merged.slots).toBe(0);
    expect(merged.hours).toEqual(['Mon-Fri 18:00-08:00']);
  });

  it('adds fields only the flags set and leaves both inputs as they were', () => {
    const flags: UsagePolicy = { maxErrors: 5 };
    const merged = mergePolicy(file, flags);
    expect(merged).toEqual({ ...file, maxErrors: 5 });
    expect(file).not.toHaveProperty('maxErrors');
    expect(flags).toEqual({ maxErrors: 5 });
  });
});

describe('acceptsWorkAt', () => {
  const evenings = parsePolicy({ hours: ['Mon-Fri 18:00-08:00', 'Sat-Sun 00:00-24:00'] }, 'test');

  it('always accepts work when there are no hours', () => {
    expect(acceptsWorkAt({}, mon(3))).toBe(true);
    expect(acceptsWorkAt({ slots: 1 }, day(12, 15))).toBe(true);
  });

  it.each<[string, Date, boolean]>([
    ['Mon 12:00', mon(12), false],
    ['Mon 17:59:59.999', mon(17, 59, 59, 999), false],
    ['Mon 18:00', mon(18), true],
    ['Mon 23:59', mon(23, 59), true],
    ['Tue 07:59 (Monday evening past midnight)', day(8, 7, 59), true],
    ['Tue 08:00', day(8, 8), false],
    ['Mon 07:00 (no Sunday evening window reaches it)', mon(7), false],
    ['Fri 23:00', day(11, 23), true],
    ['Sat 07:00', day(12, 7), true],
    ['Sat 12:00', day(12, 12), true],
    ['Sun 23:59', day(13, 23, 59), true],
    ['Mon 00:00 (the weekend has ended)', day(14, 0), false],
  ])('weekday evenings and weekends: %s is %s', (_, when, expected) => {
    expect(acceptsWorkAt(evenings, when)).toBe(expected);
  });

  it('wraps a Sunday night window across the week end into Monday morning', () => {
    const p = parsePolicy({ hours: ['Sun 22:00-02:00'] }, 'test');
    expect(acceptsWorkAt(p, day(13, 21, 59))).toBe(false);
    expect(acceptsWorkAt(p, day(13, 23))).toBe(true);
    expect(acceptsWorkAt(p, day(14, 1, 59))).toBe(true);
    expect(acceptsWorkAt(p, day(7, 1))).toBe(true);
    expect(acceptsWorkAt(p, day(14, 2))).toBe(false);
    expect(acceptsWorkAt(p, day(8, 1))).toBe(false);
  });

  it('wraps a day range across the week end (Fri-Mon is Fri, Sat, Sun and Mon)', () => {
    const p = parsePolicy({ hours: ['Fri-Mon 09:00-17:00'] }, 'test');
    const noonOn = [7, 8, 9, 10, 11, 12, 13].map((d) => acceptsWorkAt(p, day(d, 12)));
    expect(noonOn).toEqual([true, false, false, false, true, true, true]);
  });

  it('takes 24:00 as the end of the day', () => {
    const p = parsePolicy({ hours: ['Wed 20:00-24:00'] }, 'test');
    expect(acceptsWorkAt(p, new Date(2026, 11, 9, 23, 59, 59, 999))).toBe(true);
    expect(acceptsWorkAt(p, day(10, 0))).toBe(false);
  });

  it('reads day names in any case and accepts a single day', () => {
    const p = parsePolicy({ hours: ['sUN 10:00-12:00'] }, 'test');
    expect(acceptsWorkAt(p, day(13, 11))).toBe(true);
    expect(acceptsWorkAt(p, day(13, 12))).toBe(false);
    expect(acceptsWorkAt(p, day(12, 11))).toBe(false);
  });
});

describe('nextWindowChange', () => {
  const evenings = parsePolicy({ hours: ['Mon-Fri 18:00-08:00', 'Sat-Sun 00:00-24:00'] }, 'test');

  it('is undefined without hours and when the windows cover the whole week', () => {
    expect(nextWindowChange({}, mon(12))).toBeUndefined();
    expect(nextWindowChange({ hours: ['Mon-Sun 00:00-24:00'] }, mon(12))).toBeUndefined();
    expect(nextWindowChange({ hours: ['Mon-Sun 00:00-12:00', 'Mon-Sun 12:00-24:00'] }, mon(12))).toBeUndefined();
    expect(nextWindowChange({ hours: ['Mon-Sun 18:00-18:01', 'Mon-Sun 18:01-18:00'] }, mon(12))).toBeUndefined();
  });

  it.each<[string, Date, Date]>([
    ['Mon 12:00 -> Mon 18:00', mon(12), mon(18)],
    ['Mon 18:00 (on a boundary) -> Tue 08:00', mon(18), day(8, 8)],
    ['Tue 07:59:30 -> Tue 08:00', new Date(2026, 11, 8, 7, 59, 30), day(8, 8)],
    ['Fri 18:00 -> Mon 00:00 (Friday night runs into the weekend)', day(11, 18), day(14, 0)],
    ['Sat 10:00 -> Mon 00:00', day(12, 10), day(14, 0)],
    ['Sun 23:59 -> Mon 00:00', day(13, 23, 59), day(14, 0)],
    ['Mon 00:00 (next week) -> Mon 18:00', day(14, 0), day(14, 18)],
  ])('weekday evenings and weekends: %s', (_, when, expected) => {
    expect(nextWindowChange(evenings, when)).toEqual(expected);
  });

  it('skips the shared edge of overlapping or adjacent windows', () => {
    expect(nextWindowChange({ hours: ['Mon 09:00-12:00', 'Mon 11:00-14:00'] }, mon(10))).toEqual(mon(14));
    expect(nextWindowChange({ hours: ['Mon 09:00-12:00', 'Mon 12:00-14:00'] }, mon(10))).toEqual(mon(14));
  });

  it('crosses the week end in both directions', () => {
    const p = parsePolicy({ hours: ['Sun 22:00-02:00'] }, 'test');
    expect(nextWindowChange(p, mon(12))).toEqual(day(13, 22));
    expect(nextWindowChange(p, day(13, 23))).toEqual(day(14, 2));
    expect(nextWindowChange(p, day(7, 1))).toEqual(day(7, 2));
  });

  it('finds a window that is next week when this week has passed it', () => {
    expect(nextWindowChange({ hours: ['Mon 09:00-10:00'] }, day(9, 12))).toEqual(day(14, 9));
    expect(nextWindowChange({ hours: ['Mon 09:00-10:00'] }, mon(10))).toEqual(day(14, 9));
  });

  it('returns the first instant acceptsWorkAt flips, from 300 instants over three weeks', () => {
    const p = parsePolicy({ hours: ['Mon-Fri 18:00-08:30', 'Sat-Sun 00:00-24:00', 'Wed 12:00-13:30', 'Sun 22:00-02:00'] }, 'test');
    const start = new Date(2026, 11, 1).getTime();
    for (let i = 0; i < 300; i++) {
      const when = new Date(start + i * 97 * 60_000 + i * 1234);
      const now = acceptsWorkAt(p, when);
      const next = nextWindowChange(p, when)!;
      expect(next.getTime()).toBeGreaterThan(when.getTime());
      expect(acceptsWorkAt(p, next)).toBe(!now);
      expect(acceptsWorkAt(p, new Date(next.getTime() - 1))).toBe(now);
      // Every boundary is on a half hour, so no flip and flip back hides between samples 30 minutes apart.
      for (let t = when.getTime(); t < next.getTime(); t += 30 * 60_000) expect(acceptsWorkAt(p, new Date(t))).toBe(now);
    }
  });

  describe('across daylight-saving changes (Europe/Berlin)', () => {
    /** Runs `f` with the process's local time zone set to `tz` (Node applies a change of process.env.TZ at once). */
    function inZone<T>(tz: string, f: () => T): T {
      const before = process.env.TZ;
      process.env.TZ = tz;
      try {
        return f();
      } finally {
        if (before === undefined) delete process.env.TZ;
        else process.env.TZ = before;
      }
    }

    it('reports a boundary the clocks skip at the jump itself (02:00 CET -> 03:00 CEST on 2026-03-29)', () => {
      inZone('Europe/Berlin', () => {
        const p = parsePolicy({ hours: ['Sun 02:30-05:00'] }, 'test');
        const next = nextWindowChange(p, new Date(2026, 2, 29, 1, 0))!;
        expect(next.toISOString()).toBe('2026-03-29T01:00:00.000Z');
        expect(acceptsWorkAt(p, next)).toBe(true);
        expect(acceptsWorkAt(p, new Date(next.getTime() - 1))).toBe(false);
      });
    });

    it('counts wall-clock hours on a night that is an hour shorter', () => {
      inZone('Europe/Berlin', () => {
        const p = parsePolicy({ hours: ['Sat 22:00-06:00'] }, 'test');
        const end = nextWindowChange(p, new Date(2026, 2, 28, 23, 0))!;
        expect(end.toISOString()).toBe('2026-03-29T04:00:00.000Z');
        expect(end.getHours()).toBe(6);
      });
    });

    it('reports a boundary in the hour lived twice at its first occurrence (03:00 CEST -> 02:00 CET on 2026-10-25)', () => {
      inZone('Europe/Berlin', () => {
        const p = parsePolicy({ hours: ['Sun 01:00-02:30'] }, 'test');
        expect(nextWindowChange(p, new Date(2026, 9, 25, 1, 30))!.toISOString()).toBe('2026-10-25T00:30:00.000Z');
      });
    });
  });
});

describe('addressAllowed', () => {
  it('lets any address connect without lists, even one it cannot parse', () => {
    expect(addressAllowed({}, '203.0.113.9')).toBe(true);
    expect(addressAllowed({ slots: 2 }, 'not an address')).toBe(true);
  });

  it('matches IPv4 addresses against an IPv4 allow list', () => {
    const p = parsePolicy({ allowAddresses: ['10.0.0.0/8', '192.168.1.7'] }, 'test');
    expect(addressAllowed(p, '10.1.2.3')).toBe(true);
    expect(addressAllowed(p, '192.168.1.7')).toBe(true);
    expect(addressAllowed(p, '192.168.1.8')).toBe(false);
    expect(addressAllowed(p, '11.0.0.1')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 addresses (as a dual-stack socket reports them) as IPv4', () => {
    const p = parsePolicy({ allowAddresses: ['10.0.0.0/8'], blockAddresses: ['10.9.9.9'] }, 'test');
    expect(addressAllowed(p, '::ffff:10.1.2.3')).toBe(true);
    expect(addressAllowed(p, '::FFFF:10.1.2.3')).toBe(true);
    expect(addressAllowed(p, '::ffff:a01:203')).toBe(true);
    expect(addressAllowed(p, '::ffff:11.1.2.3')).toBe(false);
    expect(addressAllowed(p, '::ffff:10.9.9.9')).toBe(false);
  });

  it('reads a mapped subnet in a rule as the IPv4 subnet it covers', () => {
    const p = parsePolicy({ allowAddresses: ['::ffff:10.0.0.0/104'] }, 'test');
    expect(addressAllowed(p, '10.200.0.1')).toBe(true);
    expect(addressAllowed(p, '11.0.0.1')).toBe(false);
  });

  it('lets the block list win over the allow list', () => {
    const p = parsePolicy({ allowAddresses: ['10.0.0.0/8'], blockAddresses: ['10.6.0.0/16'] }, 'test');
    expect(addressAllowed(p, '10.5.1.1')).toBe(true);
    expect(addressAllowed(p, '10.6.1.1')).toBe(false);
  });

  it('refuses only the blocked addresses when there is no allow list', () => {
    const p = parsePolicy({ blockAddresses: ['203.0.113.0/24', '2001:db8::/32'] }, 'test');
    expect(addressAllowed(p, '203.0.113.77')).toBe(false);
    expect(addressAllowed(p, '2001:db8:1::5')).toBe(false);
    expect(addressAllowed(p, '198.51.100.1')).toBe(true);
    expect(addressAllowed(p, '2001:db9::1')).toBe(true);
  });

  it('matches IPv6 addresses in any spelling, and a link-local one with its zone', () => {
    const p = parsePolicy({ allowAddresses: ['fd00::/8', 'fe80::/10'], blockAddresses: ['::1'] }, 'test');
    expect(addressAllowed(p, 'fd12:3456::1')).toBe(true);
    expect(addressAllowed(p, 'FD12:3456:0:0:0:0:0:1')).toBe(true);
    expect(addressAllowed(p, 'fe80::1%eth0')).toBe(true);
    expect(addressAllowed(p, '2001:db8::1')).toBe(false);
    expect(addressAllowed(p, '0:0:0:0:0:0:0:1')).toBe(false);
  });

  it('keeps the families apart: an IPv4 rule does not match IPv6 loopback', () => {
    const p = parsePolicy({ allowAddresses: ['127.0.0.1'] }, 'test');
    expect(addressAllowed(p, '127.0.0.1')).toBe(true);
    expect(addressAllowed(p, '::1')).toBe(false);
  });

  it('refuses an address it cannot parse when there are lists', () => {
    const p = parsePolicy({ blockAddresses: ['10.0.0.0/8'] }, 'test');
    expect(addressAllowed(p, 'garbage')).toBe(false);
    expect(addressAllowed(p, '')).toBe(false);
    expect(addressAllowed(p, '1.2.3.4/8')).toBe(false);
  });
});

describe('ownerAllowed', () => {
  it('runs any owner without lists', () => {
    expect(ownerAllowed({}, OWNER_A)).toBe(true);
  });

  it('runs only listed owners when there is an allow list', () => {
    const p = parsePolicy({ allowOwners: [OWNER_A] }, 'test');
    expect(ownerAllowed(p, OWNER_A)).toBe(true);
    expect(ownerAllowed(p, OWNER_B)).toBe(false);
  });

  it('lets the block list win, and refuses only blocked owners without an allow list', () => {
    expect(ownerAllowed(parsePolicy({ allowOwners: [OWNER_A, OWNER_B], blockOwners: [OWNER_B] }, 'test'), OWNER_B)).toBe(false);
    const blockOnly = parsePolicy({ blockOwners: [OWNER_B] }, 'test');
    expect(ownerAllowed(blockOnly, OWNER_B)).toBe(false);
    expect(ownerAllowed(blockOnly, OWNER_A)).toBe(true);
  });
});

describe('machineInUse', () => {
  it('never counts the machine as in use without onlyWhenIdle', () => {
    expect(machineInUse({}, 64, 4)).toBe(false);
  });

  it('counts it in use when the load per core is above maxLoad, not at it', () => {
    const p: UsagePolicy = { onlyWhenIdle: { maxLoad: 0.5 } };
    expect(machineInUse(p, 2, 4)).toBe(false);
    expect(machineInUse(p, 2.01, 4)).toBe(true);
    expect(machineInUse(p, 0, 4)).toBe(false);
  });

  it('treats a core count below one as one core', () => {
    expect(machineInUse({ onlyWhenIdle: { maxLoad: 0.5 } }, 0.6, 0)).toBe(true);
    expect(machineInUse({ onlyWhenIdle: { maxLoad: 0.5 } }, 0.4, 0)).toBe(false);
  });
});

describe('effectiveSlots', () => {
  it.each<[UsagePolicy, number, number]>([
    [{}, 8, 8],
    [{ slots: 4 }, 8, 4],
    [{ slots: 12 }, 8, 12],
    [{ slots: 0 }, 8, 0],
    [{ maxCpuShare: 0.5 }, 8, 4],
    [{ maxCpuShare: 0.5, slots: 2 }, 8, 2],
    [{ maxCpuShare: 0.5, slots: 6 }, 8, 4],
    [{ maxCpuShare: 0.1 }, 4, 1],
    [{ maxCpuShare: 0.1, slots: 0 }, 4, 0],
    [{ maxCpuShare: 0.3 }, 10, 3],
    [{ maxCpuShare: 0.29 }, 100, 29],
    [{ maxCpuShare: 1 }, 6, 6],
  ])('%j on %i cores gives %i', (policy, cores, expected) => {
    expect(effectiveSlots(policy, cores)).toBe(expected);
  });
});

describe('describePolicy', () => {
  it('says there is no policy when nothing is set', () => {
    expect(describePolicy({})).toEqual(['no usage policy: any time, any address, any owner']);
  });

  it('gives one short line per field set', () => {
    const lines = describePolicy({
      slots: 4,
      maxCpuShare: 0.5,
      hours: ['Mon-Fri 18:00-08:00', 'Sat-Sun 00:00-24:00'],
      onlyWhenIdle: { maxLoad: 0.7 },
      maxThreadsPerOwner: 2,
      allowAddresses: ['10.0.0.0/8'],
      blockAddresses: ['10.6.0.0/16'],
      allowOwners: [OWNER_A],
      blockOwners: [OWNER_B],
      maxThreadCpuSeconds: 3600,
      maxThreadWallSeconds: 7200,
      maxMemoryMb: 512,
      maxErrors: 3,
      sandbox: 'strict',
    });
    expect(lines).toEqual([
      'slots: 4',
      'max CPU share: 50% of the cores',
      'hours: Mon-Fri 18:00-08:00, Sat-Sun 00:00-24:00 (local time)',
      'only when idle: load per core at most 0.7',
      'max threads per owner: 2',
      'allowed addresses: 10.0.0.0/8',
      'blocked addresses: 10.6.0.0/16',
      `allowed owners: ${OWNER_A}`,
      `blocked owners: ${OWNER_B}`,
      'CPU time per thread placement: 3600 s',
      'wall time per thread placement: 7200 s',
      'memory per executor: 512 MB',
      'executor crashes per thread: 3',
      'sandbox: strict',
    ]);
  });

  it('shortens long lists and leaves out empty block lists', () => {
    const blocked = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'];
    expect(describePolicy({ blockAddresses: blocked, blockOwners: [] })).toEqual(['blocked addresses: 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5 and 2 more']);
  });
});

describe('PolicyFile', () => {
  function recorder(): { log: { info(m: string): void; warn(m: string): void }; info: string[]; warn: string[] } {
    const info: string[] = [];
    const warn: string[] = [];
    return { log: { info: (m) => info.push(m), warn: (m) => warn.push(m) }, info, warn };
  }

  it('loads the file without calling onChange, and serves it as current', () => {
    const path = tempFile('{"slots": 3}');
    const changes: UsagePolicy[] = [];
    const file = new PolicyFile(path, (p) => changes.push(p), recorder().log);
    expect(file.path).toBe(path);
    expect(file.load()).toEqual({ slots: 3 });
    expect(file.current).toEqual({ slots: 3 });
    expect(changes).toEqual([]);
  });

  it('refuses to serve a policy before the first load', () => {
    const file = new PolicyFile(tempFile('{}'), () => {}, recorder().log);
    expect(() => file.current).toThrow(/current read before load\(\)/);
  });

  it('throws a PolicyError naming the file when the first load fails', () => {
    const path = tempFile('{"slots": -2}');
    const file = new PolicyFile(path, () => {}, recorder().log);
    expect(policyError(() => file.load()).message).toContain(`${path}: slots must be an integer >= 0, got -2`);
  });

  it('on reload, applies a good file: onChange, current and a log line', () => {
    const path = tempFile('{"slots": 3}');
    const rec = recorder();
    const changes: UsagePolicy[] = [];
    const file = new PolicyFile(path, (p) => changes.push(p), rec.log);
    file.load();
    writeFileSync(path, '{"slots": 1, "sandbox": "process"}');
    expect(file.reload()).toBe(true);
    expect(changes).toEqual([{ slots: 1, sandbox: 'process' }]);
    expect(file.current).toEqual({ slots: 1, sandbox: 'process' });
    expect(rec.info).toEqual([`usage policy reloaded from ${path}: slots: 1; sandbox: process`]);
    expect(rec.warn).toEqual([]);
  });

  it('on reload, keeps the previous policy when the file is bad, logging why, and applies it once fixed', () => {
    const path = tempFile('{"slots": 3}');
    const rec = recorder();
    const changes: UsagePolicy[] = [];
    const file = new PolicyFile(path, (p) => changes.push(p), rec.log);
    file.load();

    writeFileSync(path, '{"slots": 2,');
    expect(file.reload()).toBe(false);
    writeFileSync(path, '{"slot": 2}');
    expect(file.reload()).toBe(false);
    unlinkSync(path);
    expect(file.reload()).toBe(false);
    expect(file.current).toEqual({ slots: 3 });
    expect(changes).toEqual([]);
    expect(rec.warn).toHaveLength(3);
    expect(rec.warn[0]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+:\\d+)?: not valid JSON .*; kept the previous usage policy$`));
    expect(rec.warn[1]).toBe(`${path}: unknown field "slot" (did you mean "slots"?); kept the previous usage policy`);
    expect(rec.warn[2]).toBe(`${path}: cannot read the usage policy file (no such file); check the path given to --config; kept the previous usage policy`);

    writeFileSync(path, '{"slots": 2}');
    expect(file.reload()).toBe(true);
    expect(file.current).toEqual({ slots: 2 });
    expect(changes).toEqual([{ slots: 2 }]);
  });
});
