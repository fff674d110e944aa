// The UnreachableError a connect that must fail rejects with (a session it made is closed, and fails the test).
import { expect } from 'vitest';
import { UnreachableError } from '../../src/errors.js';
import type { Session } from '../../src/transport/transport.js';

export async function connectError(promise: Promise<Session>): Promise<UnreachableError> {
  const err: unknown = await promise.then(
    async (s) => {
      await s.close();
      throw new Error('connected, but should not have');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnreachableError);
  return err as UnreachableError;
}
