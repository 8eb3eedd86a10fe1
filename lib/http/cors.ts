import { EventGateError } from '../errors';

/** The `cors*` settings of a service. */
export interface CorsSettings {
  /** false: off; true or '*': any origin; a string: that origin; a list: origins, each exact or a `/regex/`. */
  readonly origins: string | boolean | readonly string[];
  /** Access-Control-Allow-Credentials: cookies and credentialed sendBeacon/fetch. */
  readonly credentials: boolean;
  /** Request headers a preflight allows besides the usual ones (e.g. traceparent). */
  readonly allowHeaders: readonly string[];
}

/** The `cors*` settings of a service's conf. */
export function corsSettingsOf(conf: {
  readonly cors: string | boolean | readonly string[];
  readonly cors_credentials: boolean;
  readonly cors_allow_headers: readonly string[];
}): CorsSettings {
  return { origins: conf.cors, credentials: conf.cors_credentials, allowHeaders: conf.cors_allow_headers };
}

/**
 * Which origins may read answers. `fixed` is one Access-Control-Allow-Origin
 * value for every answer (no per-request work); `allow` decides per request
 * and reflects the request's Origin, for lists, regexes and credentials (a
 * credentialed request may not be answered `*`).
 */
export type OriginRule =
  | { readonly kind: 'off' }
  | { readonly kind: 'fixed'; readonly value: string }
  | { readonly kind: 'reflect'; readonly allow: (origin: string) => boolean };

export const DEFAULT_ALLOW_HEADERS = [
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-encoding',
  'content-length',
  'content-type',
  'dnt',
  'x-request-id',
  'api-user-agent',
];

function matcherOf(entry: string): (origin: string) => boolean {
  if (entry.length > 2 && entry.startsWith('/') && entry.endsWith('/')) {
    let re: RegExp;
    try {
      // Anchored: /https:\/\/.*\.example\.org/ must not let https://example.org.evil.test in.
      re = new RegExp(`^(?:${entry.slice(1, -1)})$`);
    } catch (err) {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `cors: ${entry} is not a valid regular expression`, { cause: err });
    }
    return (origin) => re.test(origin);
  }
  return (origin) => origin === entry;
}

export function originRule(cors: CorsSettings): OriginRule {
  const { origins, credentials } = cors;
  if (origins === false || origins === '' || (Array.isArray(origins) && origins.length === 0)) return { kind: 'off' };
  const any = origins === true || origins === '*' || (Array.isArray(origins) && origins.includes('*'));
  if (any) return credentials ? { kind: 'reflect', allow: () => true } : { kind: 'fixed', value: '*' };
  if (typeof origins === 'string' && !(origins.startsWith('/') && origins.endsWith('/') && origins.length > 2) && !credentials) {
    return { kind: 'fixed', value: origins };
  }
  const list = typeof origins === 'string' ? [origins] : (origins as readonly string[]);
  const matchers = list.map(matcherOf);
  return { kind: 'reflect', allow: (origin) => matchers.some((m) => m(origin)) };
}
