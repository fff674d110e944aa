// Which failed connection set-ups are retried (plain data shaped like ssh2's errors), the
// backoff, and the messages.
import { describe, expect, it } from 'vitest';
import { backoffDelay, checkRetryPolicy, DEFAULT_RETRY_POLICY, isRetryable, retriedMessage, type ConnectFailure } from '../src/transport/connect-retry.js';

const clean = { hostKeyRejected: false, authRefused: false };
const socketError = (code: string): ConnectFailure['error'] => ({ message: `read ${code}`, code, level: 'client-socket' });

describe('isRetryable', () => {
  const cases: [string, ConnectFailure, boolean][] = [
    // What sshd past MaxStartups looks like: a close before the identification, or a reset.
    ['closed before the identification', { ...clean, error: { message: 'Connection lost before handshake', level: 'protocol' } }, true],
    ['connection reset', { ...clean, error: socketError('ECONNRESET') }, true],
    ['broken pipe', { ...clean, error: socketError('EPIPE') }, true],
    ['connection aborted', { ...clean, error: socketError('ECONNABORTED') }, true],
    ['closed without any error before authentication', { ...clean }, true],
    ['disconnect: too many connections', { ...clean, error: { message: 'Too many connections', code: 12 } }, true],
    ['disconnect: connection lost', { ...clean, error: { message: 'Connection lost', code: 10 } }, true],
    // Never: credentials, host keys, negotiation, deadlines, hosts that are not there.
    ['all authentication methods failed', { ...clean, error: { message: 'All configured authentication methods failed', level: 'client-authentication' } }, false],
    ['closed after a refused key', { ...clean, authRefused: true }, false],
    ['reset after a refused key', { ...clean, authRefused: true, error: socketError('ECONNRESET') }, false],
    ['host key refused (unknown or changed)', { ...clean, hostKeyRejected: true, error: { message: 'Host denied (verification failed)', level: 'handshake' } }, false],
    ['closed after the host key was refused', { ...clean, hostKeyRejected: true }, false],
    ['no common algorithm', { ...clean, error: { message: 'Handshake failed: no matching host key format', level: 'handshake' } }, false],
    ['handshake timeout', { ...clean, error: { message: 'Timed out while waiting for handshake', level: 'client-timeout' } }, false],
    ['connection refused', { ...clean, error: socketError('ECONNREFUSED') }, false],
    ['TCP timeout', { ...clean, error: socketError('ETIMEDOUT') }, false],
    ['no route', { ...clean, error: socketError('EHOSTUNREACH') }, false],
    ['name does not resolve', { ...clean, error: { message: 'getaddrinfo ENOTFOUND r1', code: 'ENOTFOUND', level: 'client-dns' } }, false],
    ['not an SSH server', { ...clean, error: { message: 'Invalid identification string', level: 'protocol' } }, false],
    ['disconnect: too many authentication failures', { ...clean, error: { message: 'Too many authentication failures', code: 2 } }, false],
    ['disconnect: host not allowed', { ...clean, error: { message: 'Not allowed', code: 1 } }, false],
  ];
  it.each(cases)('%s → %s', (_label, failure, expected) => {
    expect(isRetryable(failure)).toBe(expected);
  });
});

describe('backoffDelay', () => {
  const policy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 1_000 };
  it('doubles from the base, capped, with half of each delay random', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0))).toEqual([100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 1))).toEqual([200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(300);
  });
  it('spreads connections dropped together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(1, DEFAULT_RETRY_POLICY)));
    expect(delays.size).toBeGreaterThan(20);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(125);
    for (const d of delays) expect(d).toBeLessThanOrEqual(250);
  });
  it('refuses a policy that could not work', () => {
    expect(() => checkRetryPolicy({ attempts: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(/attempts/);
    expect(() => checkRetryPolicy({ attempts: 2.5, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(/attempts/);
    expect(() => checkRetryPolicy({ attempts: 3, baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/delays/);
    expect(() => checkRetryPolicy(DEFAULT_RETRY_POLICY)).not.toThrow();
  });
});

describe('retriedMessage', () => {
  const cause = '203.0.113.1:22 closed the connection before the SSH handshake';
  it('says how many attempts were made and the last cause', () => {
    expect(retriedMessage(cause, 5, 'attempts')).toBe(
      `${cause}; gave up after 5 attempts, each reset or closed before authentication`,
    );
    expect(retriedMessage(cause, 2, 'time')).toBe(
      `${cause}; gave up after 2 attempts, each reset or closed before authentication and no time left for another before the connect timeout`,
    );
    expect(retriedMessage(cause, 1, 'attempts')).toContain('gave up after 1 attempt, reset or closed');
  });
  it('a final failure after retries names its attempt; a first-attempt one is left as it is', () => {
    expect(retriedMessage('authentication failed for root@r1:22', 3, 'final')).toBe(
      'authentication failed for root@r1:22 (attempt 3; the earlier ones were reset or closed before authentication)',
    );
    expect(retriedMessage('connection refused by r1:22', 1, 'final')).toBe('connection refused by r1:22');
  });
});
