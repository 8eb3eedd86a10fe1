/**
 * Reads the text at one schema location: a file, or an http(s) URL.
 * "Nothing there" (ENOENT, 404) is an answer, `undefined`; a place that
 * cannot be asked (refused, timed out, 5xx) is an EG_ERR_SCHEMA_FETCH,
 * because the two mean different things to the client: invalid vs retry.
 */
import { readFile } from 'node:fs/promises';
import { EventGateError, messageOf } from '../errors';
import { httpGet } from '../net/get';
import type { SchemaLocation } from './resolve';

/** A schema larger than this is a mistake or an attack, not a schema. */
export const MAX_SCHEMA_BYTES = 16 * 1024 * 1024;
const MAX_REDIRECTS = 3;
const ABSENT_STATUS: ReadonlySet<number> = new Set([404, 410]);
const ABSENT_FILE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** `userAgent`: the User-Agent of http(s) fetches (services[0].conf.user_agent), none without it. */
export async function fetchSchemaText(loc: SchemaLocation, timeoutMs: number, userAgent?: string): Promise<string | undefined> {
  if (loc.kind === 'file') return readSchemaFile(loc.path, loc.href);
  // One deadline for the whole exchange, redirects and body included: a
  // trickling server must not hold a load longer than the timeout.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const answer = await httpGet(loc.url, {
      signal,
      headers: { accept: 'application/json, application/yaml, text/yaml, */*;q=0.1', ...(userAgent !== undefined ? { 'user-agent': userAgent } : {}) },
      maxBytes: MAX_SCHEMA_BYTES,
      maxRedirects: MAX_REDIRECTS,
      passStatuses: ABSENT_STATUS,
      errorCode: 'EG_ERR_SCHEMA_FETCH',
    });
    return ABSENT_STATUS.has(answer.status) ? undefined : answer.body.toString('utf8');
  } catch (err) {
    if (err instanceof EventGateError) throw err;
    const reason = signal.aborted ? `timed out after ${timeoutMs} ms` : messageOf(err);
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${loc.href}: ${reason}`, { cause: err });
  }
}

async function readSchemaFile(path: string, href: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && ABSENT_FILE.has(code)) return undefined;
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${href}: ${code ?? messageOf(err)}`, { cause: err });
  }
}
