import { describe, expect, it } from 'vitest';
import { HandshakeGate } from '../src/transport/handshake-gate.js';

describe('HandshakeGate', () => {
  it('never lets more than the limit through per key, and serves waiters in order', async () => {
    const gate = new HandshakeGate(2);
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, async (_, i) => {
        const release = await gate.acquire('bastion:22');
        inFlight++;
        peak = Math.max(peak, inFlight);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        release();
        release(); // a second release is harmless
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(gate.inFlight('bastion:22')).toBe(0);
  });
  it('keys are independent', async () => {
    const gate = new HandshakeGate(1);
    const a = await gate.acquire('a:22');
    const b = await gate.acquire('b:22');
    expect([gate.inFlight('a:22'), gate.inFlight('b:22')]).toEqual([1, 1]);
    a();
    b();
  });
});

describe('HandshakeGate learns what a server takes', () => {
  it('a drop narrows the window to the handshakes that were in flight beside it', async () => {
    const gate = new HandshakeGate(8);
    const releases = await Promise.all(Array.from({ length: 8 }, () => gate.acquire('bastion:22')));
    expect(gate.window('bastion:22')).toBe(8);
    // The server took three and dropped the rest, one after the other.
    for (const release of releases.slice(3)) release('dropped');
    expect(gate.window('bastion:22')).toBe(3);
    expect(gate.inFlight('bastion:22')).toBe(3);
    for (const release of releases.slice(0, 3)) release('ok');
    expect(gate.window('other:22')).toBe(8); // endpoints learn separately
  });

  it('a narrowed window holds waiters back until handshakes finish', async () => {
    const gate = new HandshakeGate(4);
    const first = await Promise.all(Array.from({ length: 4 }, () => gate.acquire('b:22')));
    first[3]('dropped'); // window 3, three in flight
    let admitted = 0;
    const waiters = Array.from({ length: 2 }, () => gate.acquire('b:22').then((r) => (admitted++, r)));
    await new Promise((r) => setTimeout(r, 5));
    expect(admitted).toBe(0);
    first[0]('ok');
    await new Promise((r) => setTimeout(r, 5));
    expect(admitted).toBe(1);
    expect(gate.inFlight('b:22')).toBe(3);
    first[1]();
    first[2]();
    for (const release of await Promise.all(waiters)) release('ok');
    expect(gate.inFlight('b:22')).toBe(0);
  });

  it('never below one; each run of `limit` successes in a row widens it by one, up to the limit', async () => {
    const gate = new HandshakeGate(3);
    const a = await gate.acquire('b:22');
    a('dropped'); // dropped alone: one at a time from now on
    expect(gate.window('b:22')).toBe(1);
    const succeed = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) (await gate.acquire('b:22'))('ok');
    };
    await succeed(2);
    expect(gate.window('b:22')).toBe(1);
    await succeed(1);
    expect(gate.window('b:22')).toBe(2);
    await succeed(2);
    (await gate.acquire('b:22'))(); // neither success nor drop (a refused key): the run goes on
    await succeed(1);
    expect(gate.window('b:22')).toBe(3);
    await succeed(10);
    expect(gate.window('b:22')).toBe(3);
  });

  it('urgent waiters (confirmations of armed routers) go before the others, each kind in order', async () => {
    const gate = new HandshakeGate(1);
    const first = await gate.acquire('b:22');
    const order: string[] = [];
    const waits = [
      gate.acquire('b:22').then((r) => (order.push('new 1'), r)),
      gate.acquire('b:22').then((r) => (order.push('new 2'), r)),
      gate.acquire('b:22', true).then((r) => (order.push('urgent 1'), r)),
      gate.acquire('b:22', true).then((r) => (order.push('urgent 2'), r)),
    ];
    first('ok');
    for (const w of waits) void w.then((release) => setTimeout(() => release('ok'), 1));
    await Promise.all(waits);
    expect(order).toEqual(['urgent 1', 'urgent 2', 'new 1', 'new 2']);
  });
});
