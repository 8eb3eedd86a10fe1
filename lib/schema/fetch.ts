/**
 * Reads the text at one schema location: a file, or an http(s) URL.
 * "Nothing there" (ENOENT, 404) is an answer, `undefined`; a place that
 * cannot be asked (refused, timed out, 5xx) is an EG_ERR_SCHEMA_FETCH,
 * because the two mean different things to the client: invalid vs retry.
 */
import { readFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { EventGateError } from '../errors';
import type { SchemaLocation } from './resolve';

/** A schema larger than this is a mistake or an attack, not a schema. */
export const MAX_SCHEMA_BYTES = 16 * 1024 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ABSENT_FILE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export async function fetchSchemaText(loc: SchemaLocation, timeoutMs: number): Promise<string | undefined> {
  if (loc.kind === 'file') return readSchemaFile(loc.path, loc.href);
  // One deadline for the whole exchange, redirects and body included: a
  // trickling server must not hold a load longer than the timeout.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await getText(loc.url, signal, MAX_REDIRECTS);
  } catch (err) {
    if (err instanceof EventGateError) throw err;
    const reason = signal.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).message;
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${loc.href}: ${reason}`, { cause: err });
  }
}

async function readSchemaFile(path: string, href: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && ABSENT_FILE.has(code)) return undefined;
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${href}: ${code ?? (err as Error).message}`, { cause: err });
  }
}

function getText(url: URL, signal: AbortSignal, redirectsLeft: number): Promise<string | undefined> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { signal, headers: { accept: 'application/json, application/yaml, text/yaml, */*;q=0.1' } }, (res) => {
      // Also while a discarded body drains: an unheard 'error' would crash the process.
      res.on('error', reject);
      const status = res.statusCode ?? 0;
      if (status === 404 || status === 410) {
        res.resume();
        resolve(undefined);
      } else if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        resolve(follow(url, res.headers.location, signal, redirectsLeft));
      } else if (status < 200 || status >= 300) {
        res.resume();
        reject(new EventGateError('EG_ERR_SCHEMA_FETCH', `${url.href}: HTTP ${status}`));
      } else {
        readBody(res, url).then(resolve, reject);
      }
    });
    req.on('error', reject);
  });
}

async function follow(from: URL, location: string, signal: AbortSignal, redirectsLeft: number): Promise<string | undefined> {
  const to = new URL(location, from);
  // A base vouches for its own origin only: following a redirect elsewhere
  // would fetch from a host nobody configured.
  if (to.origin !== from.origin) {
    throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${from.href}: redirected to another origin (${to.href})`);
  }
  if (redirectsLeft === 0) throw new EventGateError('EG_ERR_SCHEMA_FETCH', `${from.href}: too many redirects`);
  return getText(to, signal, redirectsLeft - 1);
}

function readBody(res: IncomingMessage, url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SCHEMA_BYTES) {
        res.destroy(new EventGateError('EG_ERR_SCHEMA_FETCH', `${url.href}: larger than ${MAX_SCHEMA_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
