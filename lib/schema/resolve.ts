/**
 * Schema URI resolution: where each schema base URI would hold a schema.
 * Pure: no I/O. Every rule that keeps a client inside the configured bases
 * lives here, so that event URIs and `$ref`s from schemas obey the same ones.
 */
import { isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EventGateError } from '../errors';

export type SchemaBase =
  | { readonly kind: 'file'; readonly dir: string; readonly href: string }
  | { readonly kind: 'http'; readonly url: URL; readonly href: string };

/** One place to fetch a schema from; `href` names it in messages. */
export type SchemaLocation =
  | { readonly kind: 'file'; readonly path: string; readonly href: string }
  | { readonly kind: 'http'; readonly url: URL; readonly href: string };

export interface ResolveOptions {
  readonly fileExtension?: string;
  readonly allowAbsoluteUris: boolean;
}

/**
 * Longer URIs are refused unread: clients choose them, and each failure is
 * remembered (negative cache) and echoed in messages.
 */
export const MAX_SCHEMA_URI_LENGTH = 2048;

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
// `1.0.0` is a version, not a file extension: an extension starts with a letter.
const HAS_EXTENSION = /\.[a-zA-Z][a-zA-Z0-9]*$/;

/**
 * Whitespace, controls and backslashes have no place in a schema URI, and a
 * backslash could act as a path separator on some file systems. Once
 * decoded, a space is an ordinary character of a name; controls are not.
 */
function hasForbidden(s: string, decoded: boolean): boolean {
  const lastForbidden = decoded ? 0x1f : 0x20;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= lastForbidden || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** Turns `schema_base_uris` into bases; plain paths are relative to `configDir`. */
export function parseBaseUris(baseUris: readonly string[], configDir: string): SchemaBase[] {
  return baseUris.map((raw) => {
    if (!SCHEME.test(raw)) {
      const dir = resolvePath(configDir, raw);
      return { kind: 'file', dir, href: pathToFileURL(dir).href + '/' };
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `schema_base_uris: ${raw} is not a valid URI.`);
    }
    if (url.protocol === 'file:') {
      const dir = fileURLToPath(url);
      return { kind: 'file', dir, href: pathToFileURL(dir).href + '/' };
    }
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      // A base names a directory: without the slash, URL resolution would
      // replace its last segment instead of descending into it.
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      url.search = '';
      url.hash = '';
      return { kind: 'http', url, href: url.href };
    }
    throw new EventGateError('EG_ERR_CONFIG_INVALID', `schema_base_uris: ${raw} has an unsupported scheme; use a path, file:, http: or https:.`);
  });
}

/**
 * Where `uri` may be found, in base order. A relative URI yields one
 * location per base; an absolute one (when allowed) yields itself.
 * Throws EG_ERR_SCHEMA_URI_INVALID, _ABSOLUTE or _ESCAPE.
 */
export function resolveSchemaUri(uri: string, bases: readonly SchemaBase[], opts: ResolveOptions): SchemaLocation[] {
  if (uri.length > MAX_SCHEMA_URI_LENGTH) {
    throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI is longer than ${MAX_SCHEMA_URI_LENGTH} characters.`);
  }
  if (uri.length === 0 || hasForbidden(uri, false)) {
    throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${JSON.stringify(uri)} is not a valid URI.`);
  }
  const bare = withoutEmptyFragment(uri);
  // `//host/path` is a network-path reference: it names a host as surely as a scheme does.
  if (SCHEME.test(bare) || bare.startsWith('//')) return [absoluteLocation(uri, bare, opts)];

  const segments = relativeSegments(uri, bare);
  if (opts.fileExtension) withExtension(segments, opts.fileExtension);
  return bases.map((base) => locationIn(uri, base, segments));
}

function withoutEmptyFragment(uri: string): string {
  return uri.endsWith('#') ? uri.slice(0, -1) : uri;
}

function absoluteLocation(uri: string, bare: string, opts: ResolveOptions): SchemaLocation {
  if (!opts.allowAbsoluteUris) {
    throw new EventGateError('EG_ERR_SCHEMA_URI_ABSOLUTE', `Schema URI ${uri} is absolute; absolute schema URIs are not allowed (allow_absolute_schema_uris).`);
  }
  let url: URL;
  try {
    url = new URL(bare);
  } catch {
    throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} is not a valid URI.`);
  }
  if (url.hash) throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} must not have a fragment.`);
  if (opts.fileExtension) {
    const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    if (last && !HAS_EXTENSION.test(last)) url.pathname += opts.fileExtension;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return { kind: 'http', url, href: url.href };
  if (url.protocol === 'file:') {
    try {
      return { kind: 'file', path: fileURLToPath(url), href: url.href };
    } catch {
      // fileURLToPath refuses hosts and encoded slashes.
      throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} is not a usable file: URI.`);
    }
  }
  throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} has an unsupported scheme; only file:, http: and https: are allowed.`);
}

/**
 * The decoded, dot-free path segments of a relative URI. Decoding comes
 * before dot handling so that `%2e%2e` counts as `..`; a segment that decodes
 * to a separator is refused outright, as no schema name needs one.
 */
function relativeSegments(uri: string, bare: string): string[] {
  if (bare.includes('?') || bare.includes('#')) {
    throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} must not have a query or fragment.`);
  }
  const out: string[] = [];
  for (const raw of bare.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} has a malformed percent-encoding.`);
    }
    if (seg.includes('/') || hasForbidden(seg, true)) {
      throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} has an encoded separator or control character.`);
    }
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw escapeError(uri);
      out.pop();
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) throw new EventGateError('EG_ERR_SCHEMA_URI_INVALID', `Schema URI ${uri} names no schema.`);
  return out;
}

function withExtension(segments: string[], ext: string): void {
  const last = segments.length - 1;
  if (!HAS_EXTENSION.test(segments[last])) segments[last] += ext;
}

function locationIn(uri: string, base: SchemaBase, segments: readonly string[]): SchemaLocation {
  if (base.kind === 'file') {
    const path = join(base.dir, ...segments);
    // Segments are already free of `..`; this guards the rule itself.
    const rel = relative(base.dir, path);
    if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) throw escapeError(uri);
    return { kind: 'file', path, href: pathToFileURL(path).href };
  }
  const url = new URL(segments.map(encodeURIComponent).join('/'), base.url);
  if (url.origin !== base.url.origin || !url.pathname.startsWith(base.url.pathname)) throw escapeError(uri);
  return { kind: 'http', url, href: url.href };
}

function escapeError(uri: string): EventGateError {
  return new EventGateError('EG_ERR_SCHEMA_URI_ESCAPE', `Schema URI ${uri} leaves its schema base URI.`);
}
