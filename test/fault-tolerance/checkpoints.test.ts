/**
 * The checkpoint store (dormant copies on holders), the owner's checkpoint directory and the choice of holders,
 * without processes: the rules the kill tests rely on.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointStore, compareVersions, MAX_VERSIONS_PER_THREAD } from '../../src/daemon/host/checkpoint-store.ts';
import { CheckpointDirectory } from '../../src/daemon/owner/checkpoint-directory.ts';
import { Recovery } from '../../src/daemon/owner/recovery.ts';
import { createLogger } from '../../src/protocol/log.ts';
import { CheckpointOwnerError, CheckpointOwnerGoneError, CheckpointStoreFullError } from '../../src/protocol/errors.ts';
import type { ParticipationManager, PeerInfo } from '../../src/daemon/swarm/participation-manager.ts';
import type { PeerLinks } from '../../src/daemon/peer-links.ts';
import type { Message } from '../../src/protocol/messages.ts';
import type { ThreadRecord } from '../../src/daemon/owner/virtual-thread-delegator.ts';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);
const put = (store: CheckpointStore, thread: number, epoch: number, n: number, size = 10, owner = 'owner', vc = 'vc1') =>
  store.put({ vc, owner, thread, epoch, n, snapshot: bytes(size, n) });

describe('checkpoint store', () => {
  it('orders versions by placement epoch first, then snapshot number', () => {
    expect(compareVersions({ epoch: 2, n: 1 }, { epoch: 1, n: 50 })).toBeGreaterThan(0);
    expect(compareVersions({ epoch: 2, n: 3 }, { epoch: 2, n: 4 })).toBeLessThan(0);
    expect(compareVersions({ epoch: 2, n: 4 }, { epoch: 2, n: 4 })).toBe(0);
  });

  it('keeps what it acknowledged until the owner drops the versions below a newer one', async () => {
    const store = new CheckpointStore();
    await put(store, 0, 1, 1);
    await put(store, 0, 1, 2);
    expect(store.get('vc1', 0, { epoch: 1, n: 1 })?.[0]).toBe(1);
    expect(store.dropBelow('vc1', 0, { epoch: 1, n: 2 }, 'owner')).toBe(true);
    expect(store.get('vc1', 0, { epoch: 1, n: 1 })).toBeUndefined();
    expect(store.get('vc1', 0, { epoch: 1, n: 2 })?.[0]).toBe(2);
    expect(store.stats()).toEqual({ threads: 1, versions: 1, bytes: 10, receiving: 0 });
  });

  it('refuses drops and copies that name another owner', async () => {
    const store = new CheckpointStore();
    await put(store, 0, 1, 1);
    expect(store.dropBelow('vc1', 0, undefined, 'intruder')).toBe(false);
    expect(store.release('vc1', 'intruder')).toBe(false);
    const intruder = put(store, 1, 1, 1, 10, 'intruder');
    await expect(intruder).rejects.toBeInstanceOf(CheckpointOwnerError);
    await expect(intruder).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_OWNER', message: 'virtual computer vc1 belongs to owner, not intruder' });
    expect(store.holds('vc1', 0)).toBe(true);
  });

  it('keeps at most a few versions per thread, dropping the oldest first', async () => {
    const store = new CheckpointStore();
    for (let n = 1; n <= MAX_VERSIONS_PER_THREAD + 2; n++) await put(store, 0, 1, n);
    expect(store.stats().versions).toBe(MAX_VERSIONS_PER_THREAD);
    expect(store.get('vc1', 0, { epoch: 1, n: 1 })).toBeUndefined();
    expect(store.get('vc1', 0, { epoch: 1, n: MAX_VERSIONS_PER_THREAD + 2 })).toBeDefined();
  });

  it('drops every copy of a finished thread and refuses late ones', async () => {
    const store = new CheckpointStore();
    await put(store, 0, 1, 1);
    store.dropBelow('vc1', 0, undefined, 'owner');
    await put(store, 0, 1, 2);
    expect(store.holds('vc1', 0)).toBe(false);
    expect(store.stats().bytes).toBe(0);
  });

  it('drops a virtual computer on release or owner death, and keeps nothing that arrives after', async () => {
    const store = new CheckpointStore();
    await put(store, 0, 1, 1, 10, 'a', 'vcA');
    await put(store, 0, 1, 1, 10, 'b', 'vcB');
    expect(store.ownerGone('a')).toBe(1);
    expect(store.release('vcB', 'b')).toBe(true);
    await put(store, 0, 1, 2, 10, 'a', 'vcA');
    expect(store.stats()).toEqual({ threads: 0, versions: 0, bytes: 0, receiving: 0 });
  });

  it('refuses copies beyond its capacity and copies for an owner declared dead', async () => {
    let ownerAlive = true;
    const store = new CheckpointStore({ maxBytes: 25, ownerAlive: () => ownerAlive });
    await put(store, 0, 1, 1, 20);
    const full = put(store, 1, 1, 1, 20);
    await expect(full).rejects.toBeInstanceOf(CheckpointStoreFullError);
    await expect(full).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_STORE_FULL', message: 'cannot hold 20 more bytes: 20 of 25 held for others' });
    ownerAlive = false;
    const gone = put(store, 2, 1, 1, 1);
    await expect(gone).rejects.toBeInstanceOf(CheckpointOwnerGoneError);
    await expect(gone).rejects.toMatchObject({ code: 'ERR_OWNER_GONE', message: 'owner owner of virtual computer vc1 is not a live member of the swarm (declared dead, or never joined)' });
  });

  it('counts a delayed copy as arriving until it is stored (fault injection)', async () => {
    const store = new CheckpointStore({ storeDelayMs: 50 });
    const p = put(store, 0, 1, 1);
    expect(store.stats().receiving).toBe(1);
    await p;
    expect(store.stats()).toMatchObject({ receiving: 0, versions: 1 });
  });
});

const report = (epoch: number, n: number, holders: string[]) => ({ epoch, n, seq: n * 10, bytes: 100, holders, site: 'job.ts:3', encodeMs: 1, transferMs: 2 });

describe('checkpoint directory', () => {
  it('keeps the newest acknowledged version, ignores older reports, and names every peer to drop older copies', () => {
    const dir = new CheckpointDirectory();
    dir.noteHolders(0, ['a']);
    expect(dir.acknowledge(0, report(1, 3, ['a']))?.drop).toEqual(['a']);
    expect(dir.acknowledge(0, report(1, 2, ['b']))).toBeUndefined();
    expect(dir.newest(0)).toMatchObject({ epoch: 1, n: 3 });
    // A later placement's first checkpoint supersedes everything of the earlier one.
    expect(new Set(dir.acknowledge(0, report(2, 1, ['c']))?.drop)).toEqual(new Set(['a', 'b', 'c']));
    expect([...dir.newest(0)!.holders]).toEqual(['c']);
  });

  it('forgets a dead holder, a copy that could not be fetched, and a finished thread', () => {
    const dir = new CheckpointDirectory();
    dir.acknowledge(0, report(1, 1, ['a', 'b']));
    dir.acknowledge(1, report(1, 1, ['b']));
    expect(dir.holderLost('b')).toEqual([0, 1]);
    expect([...dir.newest(0)!.holders]).toEqual(['a']);
    expect(dir.holding('a')).toBe(1);
    dir.invalidate(0, { epoch: 1, n: 1 });
    expect(dir.newest(0)).toBeUndefined();
    expect(dir.forget(1)).toEqual([]);
    expect(dir.allHolders()).toEqual(new Set(['a']));
  });
});

describe('choice of holders', () => {
  function recovery(peers: [string, PeerInfo['state']][], enrolled: string[], replicas = 1, self = 'owner', threads: ThreadRecord[] = []): { r: Recovery; sent: [string, Message][] } {
    const sent: [string, Message][] = [];
    const info = (id: string, state: PeerInfo['state']): PeerInfo => ({ id, url: 'ws://x', slots: 1, freeSlots: 1, speed: 1, lastHeard: 0, state, incarnation: 0 });
    const all = [[self, 'alive'] as [string, PeerInfo['state']], ...peers].map(([id, st]) => info(id, st));
    const membership = { peers: () => all.filter((p) => p.state !== 'dead'), peer: (id: string) => all.find((p) => p.id === id) } as unknown as ParticipationManager;
    const links = { selfId: self, send: (to: string, m: Message) => sent.push([to, m]), request: () => Promise.reject(new Error('offline')) } as unknown as PeerLinks;
    const r = new Recovery({ vc: 'vc1', replicas, links, membership, log: createLogger({ level: 'silent' }), workers: () => enrolled, threads: () => threads });
    return { r, sent };
  }
  const thread = { thread: 0, state: 'running', host: 'w1', holders: [] } as unknown as ThreadRecord;

  it('prefers enrolled workers, then other peers, then the owner, never the host or a dead or suspect peer', () => {
    const { r } = recovery([['w1', 'alive'], ['w2', 'alive'], ['p3', 'alive'], ['w4', 'dead'], ['w5', 'suspect']], ['w1', 'w2', 'w4', 'w5']);
    expect(r.chooseHolders(thread, 'w1')).toEqual(['w2']);
    expect(recovery([['w1', 'alive'], ['p3', 'alive']], ['w1']).r.chooseHolders(thread, 'w1')).toEqual(['p3']);
    expect(recovery([['w1', 'alive']], ['w1']).r.chooseHolders(thread, 'w1')).toEqual(['owner']);
    expect(recovery([], ['owner']).r.chooseHolders(thread, 'owner')).toEqual([]);
  });

  it('keeps holders that still fit and spreads new ones over the peers holding least', () => {
    const { r } = recovery([['w1', 'alive'], ['w2', 'alive'], ['w3', 'alive']], ['w1', 'w2', 'w3'], 2);
    r.directory.acknowledge(7, report(1, 1, ['w2']));
    expect(r.chooseHolders(thread, 'w1', ['w2'])).toEqual(['w2', 'w3']);
    expect(r.chooseHolders(thread, 'w1')).toEqual(['w3', 'w2']);
  });

  it('resumes from the newest checkpoint only while one of its holders is alive', () => {
    const { r } = recovery([['w1', 'dead'], ['w2', 'alive']], ['w2']);
    r.directory.acknowledge(0, report(1, 4, ['w1', 'w2']));
    expect(r.resumeFrom(thread)).toEqual({ epoch: 1, n: 4, holders: ['w2'] });
    expect(r.preferredHosts(thread)).toEqual(new Set(['w2']));
    r.directory.holderLost('w2');
    expect(r.resumeFrom(thread)).toBeUndefined();
    expect(r.directory.newest(0)).toBeUndefined();
  });

  it('asks the host for a new snapshot when the only copy of its newest checkpoint died with its holder', () => {
    const token = new Uint8Array(16).fill(7);
    const t = { thread: 0, state: 'running', host: 'w1', holders: ['w2'], placements: 3, token } as unknown as ThreadRecord;
    const { r, sent } = recovery([['w1', 'alive'], ['w2', 'dead'], ['w3', 'alive']], ['w1', 'w3'], 1, 'owner', [t]);
    r.directory.acknowledge(0, report(3, 2, ['w2']));
    r.peerDead('w2');
    expect(t.holders).toEqual(['w3']);
    // The new holder hears of the placement first (it takes copies only from announced hosts).
    expect(sent).toEqual([
      ['w3', { t: 'checkpoint-grant', vc: 'vc1', thread: 0, epoch: 3, host: 'w1' }],
      ['w1', { t: 'exec-holders', vc: 'vc1', thread: 0, epoch: 3, holders: ['w3'], snapshot: true, token }],
    ]);
  });
});
