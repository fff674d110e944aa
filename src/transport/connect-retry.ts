// When a failed SSH connection set-up is worth another try, and how long to wait first.
// sshd drops connections past its MaxStartups (and still counts a just-authenticated one
// for a moment), which looks like a reset or a close before authentication; those are
// retried. A refused key, a host key that is unknown or changed, or a failed key exchange
// would fail the same way again, and are never retried.

/** What is known about one failed attempt, as plain data (pure classification). */
export interface ConnectFailure {
  /** The ssh2 error; undefined when the connection just closed. */
  error?: { message: string; code?: string | number; level?: string };
  /** The host key was refused (unknown, changed, revoked, unreadable known_hosts). */
  hostKeyRejected: boolean;
  /** The server refused at least one credential (or we ran out of them). */
  authRefused: boolean;
}

export interface RetryPolicy {
  /** Attempts per hop, the first included. */
  attempts: number;
  /** Delay before the second attempt; doubled for each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 4_000 };

/** Socket errors of a connection the server (or a middlebox) tore down. */
const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** SSH_MSG_DISCONNECT reasons that say "not now" rather than "not you". */
const TRANSIENT_DISCONNECTS: ReadonlySet<number> = new Set([
  10, // CONNECTION_LOST
  12, // TOO_MANY_CONNECTIONS
]);

/** ssh2's error when the socket ends before the server's identification string. */
const LOST_BEFORE_IDENT = 'Connection lost before handshake';

/** True when another attempt may succeed: a reset or close before authentication. */
export function isRetryable(f: ConnectFailure): boolean {
  if (f.hostKeyRejected || f.authRefused) return false;
  const err = f.error;
  if (err === undefined) return true; // closed without a word, before authentication
  // Deterministic failures: refused credentials, algorithm or host key negotiation, our own deadline.
  if (err.level === 'client-authentication' || err.level === 'handshake' || err.level === 'client-timeout') return false;
  if (typeof err.code === 'string') return RESET_CODES.has(err.code);
  if (typeof err.code === 'number') return TRANSIENT_DISCONNECTS.has(err.code);
  return err.message === LOST_BEFORE_IDENT;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based): exponential, capped,
 * with "equal jitter" (half fixed, half random) so that connections dropped together do not
 * come back together.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function checkRetryPolicy(policy: RetryPolicy): void {
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new Error('connect attempts must be a whole number ≥ 1');
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) throw new Error('retry delays must satisfy 0 ≤ base ≤ max');
}

/**
 * Why a hop is given up: `final`, the last attempt failed for a reason a retry would not
 * cure; `attempts`, every attempt was reset or closed before authentication and none is left;
 * `time`, the same but the connect's deadline leaves no room for the next backoff.
 */
export type GiveUp = 'final' | 'attempts' | 'time';

/** The message for a hop given up after `attempts` attempts, the last of which said `cause`. */
export function retriedMessage(cause: string, attempts: number, why: GiveUp): string {
  if (why === 'final') return attempts <= 1 ? cause : `${cause} (attempt ${attempts}; the earlier ones were reset or closed before authentication)`;
  const count = attempts === 1 ? '1 attempt,' : `${attempts} attempts, each`;
  const limit = why === 'time' ? ' and no time left for another before the connect timeout' : '';
  return `${cause}; gave up after ${count} reset or closed before authentication${limit}`;
}
