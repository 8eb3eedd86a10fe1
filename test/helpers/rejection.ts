import { EventGateError, type ErrorCode } from '../../lib/errors';

/** What `promise` rejects with; fails the test if it fulfills. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The EventGateError `promise` rejects with; fails if it fulfills, rejects with anything else or with another code. */
export async function codedRejection(promise: Promise<unknown>, code: ErrorCode): Promise<EventGateError> {
  const err = await rejection(promise);
  if (!(err instanceof EventGateError)) throw new Error(`expected a rejection with ${code}, got ${String(err)}`);
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}
