/**
 * The error model's registry: every code has a class (alone or in a family) or says why it is data only, each
 * class carries its code, the runtime's thread-effect codes that cross the wire agree with the protocol's, the one
 * remote-to-class mapping, and the reply type of every request.
 */
import { describe, expect, it } from 'vitest';
import {
  DATA_ONLY_CODES,
  EnrolmentError,
  ERROR_CLASSES,
  ERROR_FAMILIES,
  ErrorCode,
  errorFromRemote,
  errorReplyOf,
  isErrorCode,
  OptionError,
  RemoteError,
  UnexpectedReplyError,
} from '../../src/protocol/errors.ts';
import { ThreadEffectCode } from '../../src/runtime/errors.ts';
import { checkReply, messageSchemas, replyTypesOf, type Message, type RequestType } from '../../src/protocol/messages.ts';

const codes = Object.values(ErrorCode);

function remote(code: string, remoteMessage = 'it failed there'): RemoteError {
  return new RemoteError({ code, peer: 'p1', request: 'vc-create', remoteMessage });
}

describe('the error code registry', () => {
  it('has unique ERR_ codes, each named by its key', () => {
    expect(new Set(codes).size).toBe(codes.length);
    for (const [key, code] of Object.entries(ErrorCode)) expect(code).toBe(`ERR_${key}`);
  });

  it('gives every code exactly one home: a class, a family, or a reason to be data only', () => {
    const homes = new Map<string, string[]>();
    const add = (code: string, home: string): void => void homes.set(code, [...(homes.get(code) ?? []), home]);
    for (const [code, cls] of Object.entries(ERROR_CLASSES)) add(code, cls.name);
    for (const [family, members] of Object.entries(ERROR_FAMILIES)) for (const code of members) add(code, family);
    for (const [code, why] of Object.entries(DATA_ONLY_CODES)) {
      expect(why.length).toBeGreaterThan(10);
      add(code, 'data only');
    }
    expect([...homes.keys()].sort()).toEqual([...codes].sort());
    for (const [code, where] of homes) expect(where, code).toHaveLength(1);
  });

  it('builds each class with its own code, its name, and the message as given', () => {
    for (const [code, cls] of Object.entries(ERROR_CLASSES)) {
      const err = new cls('what happened');
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(cls.name);
      expect(err.message).toBe('what happened');
    }
  });

  it('lists as data the runtime thread-effect codes that cross the wire, with the same values', () => {
    for (const key of ['LEASE_EXPIRED', 'STALE_EPOCH', 'LOCK_REENTRY', 'VC_CLOSED', 'THREAD_ENDED'] as const) {
      expect(ErrorCode[key]).toBe(ThreadEffectCode[key]);
      expect(DATA_ONLY_CODES[ErrorCode[key]]).toMatch(/ThreadEffectError/);
    }
  });

  it('tells codes of the registry from other strings', () => {
    expect(isErrorCode('ERR_ENROLMENT')).toBe(true);
    expect(isErrorCode('ERR_NO_FREE_SLOTS')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it("writes an error reply from a thrown error's own code, or ERR_HANDLER_FAILED", () => {
    expect(errorReplyOf(new OptionError('workers must be at least 1'))).toEqual({ code: 'ERR_INVALID_OPTION', message: 'workers must be at least 1' });
    expect(errorReplyOf(new Error('plain'))).toEqual({ code: 'ERR_HANDLER_FAILED', message: 'plain' });
    expect(errorReplyOf('a string')).toEqual({ code: 'ERR_HANDLER_FAILED', message: 'a string' });
  });
});

describe('RemoteError and errorFromRemote', () => {
  it('keeps the remote fields apart from the formatted message', () => {
    const err = new RemoteError({ code: 'ERR_ENROLMENT', peer: 'p1', request: 'vc-create', remoteMessage: 'enrolled 0 of 2', where: 'client p1 (127.0.0.1:7420)' });
    expect(err).toMatchObject({ name: 'RemoteError', code: 'ERR_ENROLMENT', peer: 'p1', request: 'vc-create', remoteMessage: 'enrolled 0 of 2' });
    expect(err.message).toBe("'vc-create' failed on client p1 (127.0.0.1:7420): enrolled 0 of 2");
    expect(remote('ERR_X').message).toBe("'vc-create' failed on peer p1: it failed there");
  });

  it("turns a known code into its class, with the remote's own message and the RemoteError as cause", () => {
    const r = remote(ErrorCode.ENROLMENT, 'enrolled 0 of the 2 requested');
    const err = errorFromRemote(r);
    expect(err).toBeInstanceOf(EnrolmentError);
    expect(err).toMatchObject({ code: 'ERR_ENROLMENT', message: 'enrolled 0 of the 2 requested', cause: r });
    expect(errorFromRemote(remote(ErrorCode.INVALID_OPTION, 'workers must be at least 1'))).toBeInstanceOf(OptionError);
  });

  it('leaves data-only, unknown and this-side codes as the RemoteError, and other errors as they are', () => {
    for (const code of [ErrorCode.NO_HANDLER, ErrorCode.STALE_EPOCH, 'ERR_NO_FREE_SLOTS', ErrorCode.REQUEST_TIMEOUT, ErrorCode.UNKNOWN_PEER]) {
      const r = remote(code);
      expect(errorFromRemote(r)).toBe(r);
    }
    const plain = new Error('x');
    expect(errorFromRemote(plain)).toBe(plain);
  });
});

describe('reply types', () => {
  const requestTypes = Object.keys(messageSchemas).filter((t) => 'id' in messageSchemas[t]!) as RequestType[];

  it('names a reply type that exists (and answers nothing itself) for every request type', () => {
    expect(requestTypes.length).toBeGreaterThan(15);
    for (const t of requestTypes) {
      for (const r of replyTypesOf(t)) {
        expect(messageSchemas[r], `${t} -> ${r}`).toBeDefined();
        expect('re' in messageSchemas[r]!, `${r} carries re`).toBe(true);
      }
    }
    expect(replyTypesOf('members')).toEqual(['members-reply']);
    expect(replyTypesOf('ping-req')).toEqual(['ack', 'nack']);
  });

  it('accepts the reply of the request and refuses any other type with UnexpectedReplyError', () => {
    const ok: Message = { t: 'members-reply', re: 1, self: 'p1', peers: [] };
    expect(checkReply('members', ok, 'peer p1')).toBe(ok);
    let err: unknown;
    try {
      checkReply('members', { t: 'echo-reply', re: 1, value: 0 }, 'peer p1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnexpectedReplyError);
    expect(err).toMatchObject({ code: 'ERR_UNEXPECTED_REPLY', request: 'members', reply: 'echo-reply', expected: ['members-reply'] });
    expect((err as Error).message).toBe("'members' was answered by 'echo-reply' from peer p1; expected 'members-reply'");
  });
});
