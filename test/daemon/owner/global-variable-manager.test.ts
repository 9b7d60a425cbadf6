/** The global variable manager alone: exactly-once by (thread, seq), the lock queue, leases, structural CAS. */
import { describe, expect, it } from 'vitest';
import { GlobalVariableManager, structurallyEqual } from '../../../src/daemon/owner/global-variable-manager.ts';
import { createLogger } from '../../../src/protocol/log.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../src/runtime/snapshot-codec.ts';

const enc = (v: unknown): Uint8Array => encodeSnapshot(v);
const dec = (r: { value?: Uint8Array }): unknown => (r.value === undefined ? undefined : decodeSnapshot(r.value));

function manager(alive: (thread: number, epoch: number) => boolean = () => true, leaseMs = 5000): { gvm: GlobalVariableManager; changes: [string, unknown][]; lines: string[] } {
  const changes: [string, unknown][] = [];
  const lines: string[] = [];
  const gvm = new GlobalVariableManager({
    vc: 'vc',
    log: createLogger({ level: 'info', sink: (l) => lines.push(l) }),
    leaseMs,
    holderAlive: alive,
    changed: (name, value) => changes.push([name, value === undefined ? undefined : decodeSnapshot(value)]),
  });
  return { gvm, changes, lines };
}

describe('GlobalVariableManager', () => {
  it('applies a repeated operation once and answers the repeat from its record', async () => {
    const { gvm, changes } = manager();
    await gvm.threadOp(1, 1, 0, { op: 'set', name: 'x', value: enc(5) });
    const first = await gvm.threadOp(1, 1, 1, { op: 'compareAndSet', name: 'x', expected: enc(5), value: enc(6) });
    // The thread resumed from before seq 1 and repeats it: same answer, no second write.
    const again = await gvm.threadOp(1, 2, 1, { op: 'compareAndSet', name: 'x', expected: enc(5), value: enc(6) });
    expect(first).toEqual({ ok: true });
    expect(again).toEqual({ ok: true });
    expect(decodeSnapshot(gvm.get('x')!)).toBe(6);
    expect(changes).toEqual([
      ['x', 5],
      ['x', 6],
    ]);
    gvm.close();
  });

  it('serves lock requests and writes in FIFO order; update is atomic against a set', async () => {
    const { gvm } = manager();
    await gvm.set('c', enc(0));
    expect(dec(await gvm.threadOp(1, 1, 0, { op: 'lock', name: 'c' }))).toBe(0);
    const order: string[] = [];
    const second = gvm.threadOp(2, 1, 0, { op: 'lock', name: 'c' }).then((r) => (order.push('lock 2'), dec(r)));
    const appSet = gvm.set('c', enc(100)).then(() => order.push('app set'));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(gvm.holder('c')).toEqual({ thread: 1, epoch: 1 });
    await gvm.threadOp(1, 1, 1, { op: 'unlock', name: 'c', value: enc(1), write: true });
    expect(await second).toBe(1);
    await gvm.threadOp(2, 1, 1, { op: 'unlock', name: 'c', value: enc(2), write: true });
    await appSet;
    expect(order).toEqual(['lock 2', 'app set']);
    expect(decodeSnapshot(gvm.get('c')!)).toBe(100);
    gvm.close();
  });

  it('releases the lock of a dead holder at the end of its lease, unwritten; its repeated lock is applied again', async () => {
    let alive = true;
    const { gvm, lines } = manager((thread) => thread !== 1 || alive, 40);
    await gvm.set('c', enc(10));
    await gvm.threadOp(1, 1, 0, { op: 'lock', name: 'c' });
    const waiter = gvm.threadOp(2, 1, 0, { op: 'lock', name: 'c' });
    await new Promise((r) => setTimeout(r, 120));
    expect(gvm.holder('c')?.thread).toBe(1); // renewed while its peer lives
    alive = false;
    expect(dec(await waiter)).toBe(10);
    expect(lines.some((l) => l.includes("lock of global 'c' in vc released"))).toBe(true);
    // The dead holder's late unlock is refused: its update was not applied.
    await expect(gvm.threadOp(1, 1, 1, { op: 'unlock', name: 'c', value: enc(999), write: true })).rejects.toMatchObject({ code: 'ERR_LEASE_EXPIRED' });
    // Resumed elsewhere (epoch 2), thread 1 repeats its lock: it waits for thread 2, then gets the new value.
    alive = true;
    const repeat = gvm.threadOp(1, 2, 0, { op: 'lock', name: 'c' });
    await gvm.threadOp(2, 1, 1, { op: 'unlock', name: 'c', value: enc(11), write: true });
    expect(dec(await repeat)).toBe(11);
    gvm.close();
  });

  it('hands a lock held by a dead placement to the resumed one that repeats it before the lease ends', async () => {
    const { gvm } = manager(() => true, 60_000);
    await gvm.set('c', enc(3));
    await gvm.threadOp(1, 1, 7, { op: 'lock', name: 'c' });
    expect(dec(await gvm.threadOp(1, 2, 7, { op: 'lock', name: 'c' }))).toBe(3);
    expect(gvm.holder('c')).toEqual({ thread: 1, epoch: 2 });
    await gvm.threadOp(1, 2, 8, { op: 'unlock', name: 'c', value: enc(4), write: true });
    expect(decodeSnapshot(gvm.get('c')!)).toBe(4);
    gvm.close();
  });

  it('hands a lock request a dead placement left waiting to the resumed one that repeats it', async () => {
    // Placement 1 of thread 2 is gone once placement 2 exists.
    const { gvm } = manager((thread, epoch) => thread !== 2 || epoch >= 2, 60_000);
    await gvm.set('c', enc(0));
    await gvm.threadOp(1, 1, 0, { op: 'lock', name: 'c' });
    const dead = gvm.threadOp(2, 1, 5, { op: 'lock', name: 'c' });
    const resumed = gvm.threadOp(2, 2, 5, { op: 'lock', name: 'c' });
    await gvm.threadOp(1, 1, 1, { op: 'unlock', name: 'c', value: enc(1), write: true });
    expect(dec(await resumed)).toBe(1);
    expect(dec(await dead)).toBe(1);
    expect(gvm.holder('c')).toEqual({ thread: 2, epoch: 2 });
    await gvm.threadOp(2, 2, 6, { op: 'unlock', name: 'c', value: enc(2), write: true });
    expect(decodeSnapshot(gvm.get('c')!)).toBe(2);
    gvm.close();
  });

  it('refuses a write or a lock inside the same thread’s own update instead of deadlocking', async () => {
    const { gvm } = manager();
    await gvm.threadOp(1, 1, 0, { op: 'lock', name: 'c' });
    await expect(gvm.threadOp(1, 1, 1, { op: 'set', name: 'c', value: enc(1) })).rejects.toMatchObject({ code: 'ERR_LOCK_REENTRY' });
    await expect(gvm.threadOp(1, 1, 2, { op: 'lock', name: 'c' })).rejects.toMatchObject({ code: 'ERR_LOCK_REENTRY' });
    gvm.close();
  });

  it('releases the locks of a thread that ended and drops its waiting requests', async () => {
    const { gvm } = manager();
    await gvm.threadOp(1, 1, 0, { op: 'lock', name: 'a' });
    const other = gvm.threadOp(2, 1, 0, { op: 'lock', name: 'a' });
    const own = gvm.threadOp(1, 1, 1, { op: 'lock', name: 'b' });
    await own;
    gvm.threadEnded(1);
    await expect(other).resolves.toEqual({});
    expect(gvm.holder('a')).toEqual({ thread: 2, epoch: 1 });
    expect(gvm.holder('b')).toBeUndefined();
    gvm.close();
  });

  it('forgets replies below an acknowledged checkpoint', async () => {
    const { gvm, lines } = manager();
    await gvm.threadOp(1, 1, 0, { op: 'set', name: 'x', value: enc(1) });
    await gvm.threadOp(1, 1, 1, { op: 'set', name: 'x', value: enc(2) });
    gvm.checkpointAcknowledged(1, 1);
    // seq 0 is below the checkpoint: a resume can no longer repeat it. If it does anyway, it is applied and logged.
    await gvm.threadOp(1, 2, 0, { op: 'set', name: 'x', value: enc(1) });
    expect(lines.some((l) => l.includes('repeats one older than the replies kept for it'))).toBe(true);
    expect(await gvm.threadOp(1, 2, 1, { op: 'set', name: 'x', value: enc(2) })).toEqual({});
    gvm.close();
  });
});

describe('structural equality of compareAndSet', () => {
  it('compares decoded values: key order of plain objects does not matter, types do', () => {
    expect(structurallyEqual(enc({ a: 1, b: [1, { c: 2 }] }), enc({ b: [1, { c: 2 }], a: 1 }))).toBe(true);
    expect(structurallyEqual(enc(new Map([['k', new Set([1, 2])]])), enc(new Map([['k', new Set([2, 1])]])))).toBe(true);
    expect(structurallyEqual(enc(new Float64Array([1, 2])), enc(new Float64Array([1, 2])))).toBe(true);
    expect(structurallyEqual(enc(new Float64Array([1, 2])), enc(new Float32Array([1, 2])))).toBe(false);
    expect(structurallyEqual(enc([1, 2]), enc({ 0: 1, 1: 2 }))).toBe(false);
    expect(structurallyEqual(enc(NaN), enc(NaN))).toBe(true);
    expect(structurallyEqual(undefined, enc(undefined))).toBe(true);
    expect(structurallyEqual(undefined, enc(null))).toBe(false);
    expect(structurallyEqual(enc(new Date(5)), enc(new Date(6)))).toBe(false);
  });
});
