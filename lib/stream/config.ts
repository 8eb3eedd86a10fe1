/**
 * One loaded stream config as a lookup table. Pure and synchronous: built
 * from the plain object a source produced, so that a worker thread can build
 * the same table from the same (structured-cloned) object and answer exactly
 * as the HTTP worker does.
 */
import { EventGateError, messageOf } from '../errors';

/** One stream's settings, as EventStreamConfig gives them; unknown keys are kept as they are. */
export interface StreamSettings {
  /** The `title` the event's schema must have. */
  readonly schema_title?: string;
  /** Kafka message key: key name -> dotted path in the event. */
  readonly message_key_fields?: Readonly<Record<string, string>>;
  /** Prefixes the stream's topics may have (see topicFor in rules.ts). */
  readonly topic_prefixes?: readonly string[];
  /** The one prefix of this stream's topic, overriding the service's topic_prefix. */
  readonly topic_prefix?: string;
  /** When set, only the event service of that name serves the stream. */
  readonly destination_event_service?: string;
  readonly [k: string]: unknown;
}

export type StreamConfigObject = Readonly<Record<string, StreamSettings>>;

interface Pattern {
  readonly re: RegExp;
  readonly settings: StreamSettings;
}

/**
 * Concrete stream names come from clients, so the cache of regex answers is
 * bounded: when full it starts over, which keeps it correct and lets the
 * names in current use fill it again.
 */
const MAX_CACHED_NAMES = 10_000;

/** `/.../`: a regex key, as EventStreamConfig writes them (no flags). */
function regexBody(key: string): string | undefined {
  return key.length > 2 && key.startsWith('/') && key.endsWith('/') ? key.slice(1, -1) : undefined;
}

export class StreamTable {
  /** The config as loaded, frozen: what GET /v1/stream-configs shows, and what a thread rebuilds the table from. */
  readonly source: StreamConfigObject;
  private readonly exact = new Map<string, StreamSettings>();
  private readonly patterns: Pattern[] = [];
  // null: looked up, nothing served under that name.
  private readonly resolved = new Map<string, StreamSettings | null>();

  /** Throws EG_ERR_STREAM_CONFIG_INVALID listing every problem of `raw`. */
  constructor(
    raw: unknown,
    private readonly serviceName: string,
    where = 'stream config',
  ) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new EventGateError('EG_ERR_STREAM_CONFIG_INVALID', `${where}: must be an object of stream name -> settings, not ${kindOf(raw)}.`);
    }
    const problems: string[] = [];
    for (const [key, settings] of Object.entries(raw as Record<string, unknown>)) {
      problems.push(...settingsProblems(key, settings));
      const body = regexBody(key);
      if (body === undefined) {
        this.exact.set(key, settings as StreamSettings);
        continue;
      }
      try {
        this.patterns.push({ re: new RegExp(body), settings: settings as StreamSettings });
      } catch (err) {
        problems.push(`${key}: not a valid regular expression (${messageOf(err)})`);
      }
    }
    if (problems.length) {
      throw new EventGateError('EG_ERR_STREAM_CONFIG_INVALID', `${where}: ${problems.join('; ')}`, { details: problems });
    }
    this.source = deepFreeze(raw as StreamConfigObject);
  }

  /** Number of keys (exact names and patterns). */
  get size(): number {
    return this.exact.size + this.patterns.length;
  }

  /**
   * The settings this service applies to a concrete stream name: the exact key
   * first, else the first `/regex/` key (in config order) that matches.
   * Undefined when no key matches, or when the matching settings name another
   * destination_event_service: a stream that belongs to another service is
   * not served here even if a broader pattern below it would match.
   */
  get(stream: string): StreamSettings | undefined {
    const exact = this.exact.get(stream);
    if (exact !== undefined) return this.served(exact);
    if (this.patterns.length === 0) return undefined;
    const cached = this.resolved.get(stream);
    if (cached !== undefined) return cached ?? undefined;
    const hit = this.patterns.find((p) => p.re.test(stream));
    const settings = hit === undefined ? undefined : this.served(hit.settings);
    if (this.resolved.size >= MAX_CACHED_NAMES) this.resolved.clear();
    this.resolved.set(stream, settings ?? null);
    return settings;
  }

  /**
   * Settings of the given names as this service serves them, keyed by the
   * name asked for; a config key itself (also a `/regex/` key) is found as
   * such. Names with nothing served are left out.
   */
  select(names: readonly string[]): Record<string, StreamSettings> {
    const out: Record<string, StreamSettings> = {};
    for (const name of names) {
      const own = Object.prototype.hasOwnProperty.call(this.source, name) ? this.served(this.source[name]) : undefined;
      const settings = own ?? this.get(name);
      if (settings !== undefined) out[name] = settings;
    }
    return out;
  }

  private served(settings: StreamSettings): StreamSettings | undefined {
    const dest = settings.destination_event_service;
    return dest === undefined || dest === this.serviceName ? settings : undefined;
  }
}

/** The known settings are checked once here, so the hot path can trust their types. */
function settingsProblems(key: string, settings: unknown): string[] {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    return [`${key}: settings must be an object, not ${kindOf(settings)}`];
  }
  const s = settings as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of ['schema_title', 'topic_prefix', 'destination_event_service']) {
    if (s[name] !== undefined && typeof s[name] !== 'string') problems.push(`${key}.${name}: must be a string`);
  }
  const prefixes = s.topic_prefixes;
  if (prefixes !== undefined && !(Array.isArray(prefixes) && prefixes.every((p) => typeof p === 'string'))) {
    problems.push(`${key}.topic_prefixes: must be a list of strings`);
  }
  const keyFields = s.message_key_fields;
  if (keyFields !== undefined) {
    const ok =
      keyFields !== null &&
      typeof keyFields === 'object' &&
      !Array.isArray(keyFields) &&
      Object.values(keyFields).every((p) => typeof p === 'string' && p.length > 0);
    if (!ok) problems.push(`${key}.message_key_fields: must map key names to dotted event paths`);
  }
  return problems;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  return Array.isArray(value) ? 'a list' : `a ${typeof value}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
