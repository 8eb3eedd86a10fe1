/**
 * Finds a schema document through its candidate locations, in base order:
 * the first base that has it wins. When none has it, the answer depends on
 * why: every base said "not here" (the client named a schema that does not
 * exist) or some base could not be asked (ours to fix, worth a retry).
 */
import { codeOf, EventGateError } from '../errors';
import { parseSchemaText, type SchemaObject } from './parse';
import type { SchemaLocation } from './resolve';

export interface LocatedSchema {
  readonly doc: SchemaObject;
  /** Where it was found. */
  readonly href: string;
}

/** Reads one location: its text, or undefined when nothing is there (fetch.ts). */
export type FetchText = (loc: SchemaLocation) => Promise<string | undefined>;

export async function locateSchema(uri: string, locations: readonly SchemaLocation[], fetchText: FetchText): Promise<LocatedSchema> {
  const failures: EventGateError[] = [];
  for (const loc of locations) {
    let text: string | undefined;
    try {
      text = await fetchText(loc);
    } catch (err) {
      // Not asked for want of a turn: a later base must not answer in its place.
      if (codeOf(err) === 'EG_ERR_SCHEMA_FETCH_BUSY') throw err;
      failures.push(err as EventGateError);
      continue;
    }
    if (text !== undefined) return { doc: parseSchemaText(text, loc.href), href: loc.href };
  }
  const tried = locations.map((l) => l.href);
  if (failures.length > 0) {
    const reasons = failures.map((f) => f.message).join('; ');
    // Only fetch errors are named: clients see this message, and the paths of
    // file bases are the server's business (they are in `details`, for the log).
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `Schema ${uri} could not be fetched (${reasons}).`, {
      cause: failures[0],
      details: { uri, tried },
    });
  }
  const where = tried.length > 0 ? `${tried.length} tried` : 'none is configured';
  throw new EventGateError('EG_ERR_SCHEMA_NOT_FOUND', `Schema ${uri} not found at any schema base URI (${where}).`, {
    details: { uri, tried },
  });
}
