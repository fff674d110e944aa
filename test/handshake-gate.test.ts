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
