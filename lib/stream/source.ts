/**
 * Reads the stream config document once: from a local YAML/JSON file or an
 * http(s) URL, then picks the stream map out of it. Understands the
 * MediaWiki EventStreamConfig API answer (`{streams: {...}}`, with `error`
 * and `warnings` in a 200 body). Retrying and refreshing are the registry's.
 *
 * "Could not be read" (file missing, refused, timed out, HTTP status) is
 * EG_ERR_STREAM_CONFIG_FETCH; "read, but not usable" (syntax, an `error`
 * in the body, no object at the path) is EG_ERR_STREAM_CONFIG_INVALID.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateSync } from 'node:zlib';
import { CORE_SCHEMA, load } from 'js-yaml';
import { EventGateError, messageOf } from '../errors';
import { fieldGetter } from '../event/fields';
import { httpGet } from '../net/get';

export interface StreamSourceOptions {
  /** A path (relative to configDir), a file:// URL or an http(s):// URL. */
  readonly uri: string;
  readonly configDir: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Dotted path of the stream map inside the document, e.g. `streams`. */
  readonly objectPath?: string;
  /** Deadline of the whole load, body included. */
  readonly timeoutMs: number;
  /** Aborts a load in flight (the registry closing). */
  readonly signal?: AbortSignal;
}

export interface LoadedStreamConfig {
  /** The object at objectPath: stream name or `/regex/` -> settings, not yet checked. */
  readonly streams: unknown;
  /** Where it came from, for messages: a path or a URL. */
  readonly href: string;
  /** `warnings` of an EventStreamConfig answer, for the caller to log. */
  readonly warnings?: unknown;
}

/** A stream config larger than this is a mistake, not a config. */
export const MAX_STREAM_CONFIG_BYTES = 64 * 1024 * 1024;
const MAX_REDIRECTS = 3;

export async function loadStreamConfig(opts: StreamSourceOptions): Promise<LoadedStreamConfig> {
  const location = locate(opts.uri, opts.configDir);
  const href = location instanceof URL ? location.href : location;
  const text = location instanceof URL ? await fetchText(location, opts) : await readText(location);
  const doc = parse(text, href);
  // With an object path the document is a wrapper (an API answer) and its
  // `error` / `warnings` are about the answer. Without one, the document is
  // the stream map itself and a stream may well be called `error`, so only a
  // MediaWiki-shaped error ({code, info}) is taken as one.
  const wrapper = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  const error = wrapper?.error;
  if (error !== undefined && (opts.objectPath || isApiError(error))) {
    throw new EventGateError('EG_ERR_STREAM_CONFIG_INVALID', `${href}: the answer holds an error: ${describeApiError(error)}`, {
      details: error,
    });
  }
  const warnings = opts.objectPath ? wrapper?.warnings : undefined;
  const streams = opts.objectPath ? (wrapper ? fieldGetter(opts.objectPath)(wrapper) : undefined) : doc;
  if (streams === undefined) {
    throw new EventGateError('EG_ERR_STREAM_CONFIG_INVALID', `${href}: has nothing at stream_config_object_path '${opts.objectPath}'.`);
  }
  return warnings === undefined ? { streams, href } : { streams, href, warnings };
}

/** A path stays a path; a URL with a scheme becomes a URL (file:// back to a path). */
function locate(uri: string, configDir: string): string | URL {
  if (/^https?:\/\//i.test(uri)) return new URL(uri);
  if (/^file:/i.test(uri)) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(uri)) {
    throw new EventGateError('EG_ERR_STREAM_CONFIG_FETCH', `${uri}: only paths, file:// and http(s):// URLs are supported.`);
  }
  return isAbsolute(uri) ? uri : resolvePath(configDir, uri);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? messageOf(err);
    throw new EventGateError('EG_ERR_STREAM_CONFIG_FETCH', `${path}: ${reason}`, { cause: err });
  }
}

async function fetchText(url: URL, opts: StreamSourceOptions): Promise<string> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const answer = await httpGet(url, {
      signal,
      headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.1', ...opts.headers },
      maxBytes: MAX_STREAM_CONFIG_BYTES,
      maxRedirects: MAX_REDIRECTS,
      errorCode: 'EG_ERR_STREAM_CONFIG_FETCH',
    });
    return decode(answer.body, answer.headers['content-encoding'], url);
  } catch (err) {
    if (err instanceof EventGateError) throw err;
    const reason = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : signal.aborted ? 'aborted' : messageOf(err);
    throw new EventGateError('EG_ERR_STREAM_CONFIG_FETCH', `${url.href}: ${reason}`, { cause: err });
  }
}

/** Only reachable when stream_config_uri_options asks for compression with its own accept-encoding. */
function decode(body: Buffer, encoding: string | undefined, url: URL): string {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body, { maxOutputLength: MAX_STREAM_CONFIG_BYTES }).toString('utf8');
    if (enc === 'deflate') return inflateSync(body, { maxOutputLength: MAX_STREAM_CONFIG_BYTES }).toString('utf8');
  } catch (err) {
    throw new EventGateError('EG_ERR_STREAM_CONFIG_FETCH', `${url.href}: body could not be decoded (${enc})`, { cause: err });
  }
  if (enc !== 'identity') throw new EventGateError('EG_ERR_STREAM_CONFIG_FETCH', `${url.href}: unsupported content-encoding ${enc}`);
  return body.toString('utf8');
}

function parse(text: string, href: string): unknown {
  // JSON first: much faster on a large EventStreamConfig answer. YAML is the
  // fallback because a YAML flow mapping also starts with a brace.
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through to YAML
    }
  }
  try {
    // CORE_SCHEMA: no surprise Date objects out of unquoted dates.
    return load(text, { schema: CORE_SCHEMA });
  } catch (err) {
    const { reason, mark } = err as { reason?: string; mark?: { line: number; column: number } };
    const where = reason && mark ? `${reason} (line ${mark.line + 1}, column ${mark.column + 1})` : messageOf(err);
    throw new EventGateError('EG_ERR_STREAM_CONFIG_INVALID', `${href}: not valid YAML or JSON: ${where}`, { cause: err });
  }
}

function isApiError(error: unknown): boolean {
  return error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string';
}

/** MediaWiki API errors: `{code, info}` (errorformat=bc) or `{code, text}`; anything else as JSON. */
function describeApiError(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const { code, info, text } = error as { code?: unknown; info?: unknown; text?: unknown };
    const what = typeof info === 'string' ? info : typeof text === 'string' ? text : undefined;
    if (typeof code === 'string' && what !== undefined) return `${code}: ${what}`;
  }
  const json = JSON.stringify(error);
  return json.length > 500 ? `${json.slice(0, 500)}...` : json;
}
