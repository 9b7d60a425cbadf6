/**
 * The PeerController in-process: handler registration and replies, roles, the connection cache, requests
 * and their failures, and membership events between a few peers with the default timing.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../../src/protocol/connection.ts';
import {
  CloseCode,
  ConnectionClosedError,
  ErrorCode,
  ForbiddenError,
  OptionError,
  PeerControllerStateError,
  RemoteError,
  RequestTimeoutError,
  UnexpectedReplyError,
  UnknownPeerError,
} from '../../src/protocol/errors.ts';
import { PeerLinks } from '../../src/daemon/peer-links.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { generateIdentity } from '../../src/protocol/identity.ts';
import { PeerController, type PeerControllerOptions } from '../../src/daemon/peer-controller.ts';
import type { PeerInfo } from '../../src/protocol/messages.ts';
import { waitFor } from './helpers.ts';

const key = randomBytes(32);
const running: PeerController[] = [];
const clients: Connection[] = [];
const logs = new Map<PeerController, string[]>();

async function peer(opts: Partial<PeerControllerOptions> = {}): Promise<PeerController> {
  const lines: string[] = [];
  const pc = await PeerController.start({ swarmKey: key, speed: 10, slots: 2, log: createLogger({ level: 'info', sink: (l) => lines.push(l) }), ...opts });
  logs.set(pc, lines);
  running.push(pc);
  return pc;
}

async function client(pc: PeerController, opts: { maxFrameBytes?: number } = {}): Promise<Connection> {
  const c = await connect(pc.url, { swarmKey: key, role: 'client', ...opts });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

describe('PeerController handlers', () => {
  it('fills in the reply `re`, sync or async, and answers echo by default', async () => {
    const pc = await peer();
    const c = await client(pc);
    expect(await c.request({ t: 'echo', value: { a: [1, 'x'] } })).toEqual({ t: 'echo-reply', re: 1, value: { a: [1, 'x'] } });
    expect(pc.unhandle('echo')).toBe(true);
    pc.register({
      echo: {
        client: async (msg) => {
          await new Promise((r) => setTimeout(r, 10));
          return { t: 'echo-reply', value: [msg.value, 'async'] };
        },
      },
    });
    expect(await c.request({ t: 'echo', value: 1 })).toEqual({ t: 'echo-reply', re: 2, value: [1, 'async'] });
  });

  it('answers a request without a handler with ERR_NO_HANDLER, and a throwing handler with its error code', async () => {
    const pc = await peer();
    pc.unhandle('echo');
    const c = await client(pc);
    await expect(c.request({ t: 'echo', value: 0 })).rejects.toMatchObject({ name: 'RemoteError', code: 'ERR_NO_HANDLER' });
    const off = pc.register({
      echo: {
        client: (msg) => {
          if (msg.value === 'sync') throw Object.assign(new Error('no free slots'), { code: 'ERR_NO_FREE_SLOTS' });
          return Promise.reject(new Error('async failure'));
        },
      },
    });
    const e1 = await c.request({ t: 'echo', value: 'sync' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RemoteError);
    expect(e1).toMatchObject({ code: 'ERR_NO_FREE_SLOTS', remoteMessage: 'no free slots' });
    await expect(c.request({ t: 'echo', value: 'async' })).rejects.toMatchObject({ code: 'ERR_HANDLER_FAILED' });
    expect(() => pc.register({ echo: { client: () => undefined } })).toThrow(OptionError);
    off();
    await expect(c.request({ t: 'echo', value: 0 })).rejects.toMatchObject({ code: 'ERR_NO_HANDLER' });
    expect(c.isOpen).toBe(true);
  });

  it("rejects with a RemoteError carrying the remote's code, the peer that answered, the request and its own message", async () => {
    const pc = await peer();
    pc.unhandle('echo');
    pc.register({
      echo: {
        client: () => {
          throw new ForbiddenError('only the owner may ask');
        },
      },
    });
    const c = await client(pc);
    const err = await c.request({ t: 'echo', value: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: ErrorCode.FORBIDDEN, peer: pc.id, request: 'echo', remoteMessage: 'only the owner may ask' });
    expect((err as Error).message).toBe(`'echo' failed on ${c.toString()}: only the owner may ask`);
    expect(c.isOpen).toBe(true);
  });

  it('rejects a request answered by another type than its reply with UnexpectedReplyError, and keeps the connection', async () => {
    const pc = await peer();
    pc.unhandle('members');
    pc.register({ members: { client: () => ({ t: 'echo-reply', value: 'not the members' }) } });
    const c = await client(pc);
    const err = await c.request({ t: 'members' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnexpectedReplyError);
    expect(err).toMatchObject({ code: ErrorCode.UNEXPECTED_REPLY, request: 'members', reply: 'echo-reply', expected: ['members-reply'] });
    expect((err as Error).message).toBe(`'members' was answered by 'echo-reply' from ${c.toString()}; expected 'members-reply'`);
    expect(c.isOpen).toBe(true);
    expect(await c.request({ t: 'echo', value: 1 })).toMatchObject({ t: 'echo-reply', value: 1 });
  });

  it("fails a request to the peer itself as a remote one: RemoteError with the handler's code, UnexpectedReplyError", async () => {
    const pc = await peer();
    pc.unhandle('members');
    pc.unhandle('echo');
    pc.register({
      members: { peer: () => ({ t: 'echo-reply', value: 0 }) },
      echo: {
        peer: () => {
          throw new OptionError('workers must be at least 1');
        },
      },
    });
    const links = new PeerLinks(pc, pc.log);
    const err = await links.request(pc.id, { t: 'echo', value: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: ErrorCode.INVALID_OPTION, peer: pc.id, request: 'echo', remoteMessage: 'workers must be at least 1' });
    expect((err as Error).message).toBe(`'echo' failed on this peer (${pc.id}): workers must be at least 1`);
    const wrong = await links.request(pc.id, { t: 'members' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnexpectedReplyError);
    expect((wrong as Error).message).toBe(`'members' was answered by 'echo-reply' from this peer (${pc.id}); expected 'members-reply'`);
  });

  it('keeps a one-way message that arrives before its handler is registered, and hands it over on register', async () => {
    const pc = await peer();
    const me = generateIdentity();
    const other = await connect(pc.url, { swarmKey: key, role: 'peer', identity: me, log: createLogger({ level: 'silent' }) });
    other.send({ t: 'checkpoint-grant', vc: 'v1', thread: 3, epoch: 1, host: me.id });
    // The frame is dispatched with no handler registered yet: it waits instead of being dropped.
    await new Promise((r) => setTimeout(r, 100));
    const seen: unknown[] = [];
    pc.register({ 'checkpoint-grant': { peer: (msg, from) => void seen.push({ thread: msg.thread, from: from.remoteId }) } });
    expect(seen).toEqual([{ thread: 3, from: me.id }]);
    other.close();
  });

  it('turns a reply too large for a frame into an error reply', async () => {
    const pc = await peer({ maxFrameBytes: 4096 });
    pc.unhandle('echo');
    pc.register({ echo: { client: () => ({ t: 'echo-reply', value: 'x'.repeat(10_000) }) } });
    const c = await client(pc);
    await expect(c.request({ t: 'echo', value: 0 })).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
    expect(c.isOpen).toBe(true);
  });

  it('closes a client that sends peer-only membership messages (4403, one log line)', async () => {
    const pc = await peer();
    const c = await client(pc);
    const closed = new Promise<[number, string]>((r) => c.onClose((code, reason) => r([code, reason])));
    c.send({ t: 'gossip', g: [] });
    const [code, reason] = await closed;
    expect(code).toBe(CloseCode.FORBIDDEN);
    expect(reason).toMatch(/^ERR_FORBIDDEN_FOR_ROLE: 'gossip' may only be sent by peer connections, not by a client/);
    expect(logs.get(pc)!.filter((l) => l.includes('ERR_FORBIDDEN_FOR_ROLE'))).toHaveLength(1);
  });
});

describe('connections', () => {
  it('rejects a request on timeout, and pending requests when the connection closes; send after close throws', async () => {
    const pc = await peer();
    pc.unhandle('echo');
    pc.register({ echo: { client: () => new Promise<void>(() => {}) } }); // never answers
    const c = await client(pc);
    const err = await c.request({ t: 'echo', value: 0 }, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as Error).message).toMatch(/^no reply to 'echo' from client .* within 100 ms$/);
    const pending = c.request({ t: 'echo', value: 1 });
    c.close(CloseCode.NORMAL, 'bye');
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => c.send({ t: 'echo', id: 9, value: 0 })).toThrow(ConnectionClosedError);
  });

  it('tells the other side why it was closed', async () => {
    const pc = await peer();
    const seen = new Promise<Connection>((r) => pc.once('connection', r));
    const c = await client(pc);
    const closed = new Promise<[number, string]>((r) => c.onClose((code, reason) => r([code, reason])));
    (await seen).close(4000, 'go away');
    expect(await closed).toEqual([4000, 'go away']);
    expect(c.closeInfo).toEqual({ code: 4000, reason: 'go away' });
  });

  it('connectTo reuses one authenticated connection per peer, also to itself, and refuses unknown peers', async () => {
    const a = await peer();
    const b = await peer({ join: [a.url] });
    await waitFor(() => a.membership.peer(b.id)?.state === 'alive', 3000, 'join');
    const [c1, c2] = await Promise.all([a.connectTo(b.id), a.connectTo(b.id)]);
    expect(c1).toBe(c2);
    expect(c1.remoteId).toBe(b.id);
    expect(await a.connectTo(b.id)).toBe(c1);
    expect(await c1.request({ t: 'echo', value: 'hi' })).toMatchObject({ t: 'echo-reply', value: 'hi' });
    const self = await a.connectTo(a.id);
    expect(await self.request({ t: 'echo', value: 'me' })).toMatchObject({ value: 'me' });
    await expect(a.connectTo('nobody')).rejects.toBeInstanceOf(UnknownPeerError);
    await a.stop();
    await expect(a.connectTo(b.id)).rejects.toBeInstanceOf(PeerControllerStateError);
  });
});

describe('membership between in-process peers', () => {
  it('announces joins, free-slot changes and leaves as events', async () => {
    const a = await peer();
    const events: string[] = [];
    const on = (name: 'peer-alive' | 'peer-dead' | 'peer-update') => (p: PeerInfo) => events.push(`${name} ${p.id}`);
    a.membership.on('peer-alive', on('peer-alive')).on('peer-dead', on('peer-dead')).on('peer-update', on('peer-update'));
    const b = await peer({ join: [a.url] });
    const c = await peer({ join: [a.url] });
    await waitFor(() => [a, b, c].every((p) => p.membership.peers().length === 3), 3000, 'all three to know each other');
    expect(events).toEqual([`peer-alive ${b.id}`, `peer-alive ${c.id}`]);
    // b learned c through gossip: it joined before c existed.
    expect(b.membership.peer(c.id)).toMatchObject({ url: c.url, slots: 2, freeSlots: 2, speed: 10, state: 'alive' });

    for (const n of [1, 0, 1, 0]) b.setFreeSlots(n); // a burst is coalesced; the last value wins
    const spreadMs = await waitFor(() => a.membership.peer(b.id)?.freeSlots === 0 && c.membership.peer(b.id)?.freeSlots === 0, 3000, 'free slots to spread', 5);
    expect(spreadMs).toBeLessThan(500);
    expect(events).toContain(`peer-update ${b.id}`);
    expect(() => b.setFreeSlots(-1)).toThrow(OptionError);

    const t0 = performance.now();
    await c.stop();
    await waitFor(() => a.membership.peer(c.id)?.state === 'dead' && b.membership.peer(c.id)?.state === 'dead', 2000, 'the leave to be seen');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(events).toContain(`peer-dead ${c.id}`);
    expect(a.membership.peers().map((p) => p.id)).toEqual([a.id, b.id]);
    expect(a.membership.peers({ includeDead: true }).map((p) => p.state)).toEqual(['alive', 'alive', 'dead']);
    expect(a.membership.peers({ includeSelf: false }).map((p) => p.id)).toEqual([b.id]);
  });

  it('keeps retrying the seeds until one answers', async () => {
    const a = await peer();
    const port = Number(new URL(a.url).port);
    await a.stop();
    running.splice(running.indexOf(a), 1);
    const b = await peer({ join: [`ws://127.0.0.1:${port}`], membership: { rejoinIntervalMs: 100 } });
    expect(logs.get(b)!.some((l) => l.includes('could not join yet'))).toBe(true);
    const a2 = await peer({ port });
    await waitFor(() => b.membership.peer(a2.id)?.state === 'alive' && a2.membership.peer(b.id)?.state === 'alive', 3000, 'the late seed to be joined');
  });
});
