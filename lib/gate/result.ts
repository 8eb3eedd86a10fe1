import type { ErrorCode } from '../errors';

/** ajv's error objects, kept opaque here so the gate does not leak ajv types. */
export type ValidationErrors = readonly unknown[];

export interface InvalidContext {
  readonly errors: ValidationErrors;
  readonly errorsText: string;
}

export interface ErrorContext {
  readonly message: string;
}

/**
 * What happened to one event. An invalid event is data, not an exception:
 * validation returns this, and only faults throw.
 */
export type EventResult =
  | { readonly status: 'accepted' }
  | { readonly status: 'invalid'; readonly code: ErrorCode; readonly context: InvalidContext }
  | { readonly status: 'error'; readonly code: ErrorCode; readonly context: ErrorContext };

export type FailedResult = Exclude<EventResult, { status: 'accepted' }>;

/** One element of the `invalid` or `error` array of a response body; its context carries the catalogue code. */
export interface ResultItem {
  readonly status: 'invalid' | 'error';
  readonly event: unknown;
  readonly context: (InvalidContext | ErrorContext) & { readonly code: ErrorCode };
}

export const ACCEPTED: EventResult = Object.freeze({ status: 'accepted' });
