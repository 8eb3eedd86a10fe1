import { EventGateError, messageOf } from '../errors';
import { scanBody, type EventLimits } from './scan';

/** A parsed body: its events, and which of them were too deep to keep (each replaced by null). */
export interface ParsedEvents {
  readonly events: unknown[];
  /** Indexes of events nested deeper than max_event_depth, for the validator to refuse. */
  readonly tooDeep: ReadonlySet<number> | undefined;
}

/**
 * Parses a body into a list of events, or throws the request-level error a
 * client gets for it. `{}` and `[]` count as empty, as in EventGate. The
 * body is scanned first (lib/event/scan.ts): too many events is refused
 * before any is built, and an event nested deeper than the limit is replaced
 * by null, so that nothing recursive after this ever holds it.
 */
export function parseEvents(body: Buffer, limits: EventLimits): ParsedEvents {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim().length === 0) throw new EventGateError('EG_ERR_BODY_EMPTY');
  const shape = scanBody(text, limits);
  if (shape.spans.length > 0) text = withoutSpans(text, shape.spans);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EventGateError('EG_ERR_BODY_MALFORMED', `Request body is not valid JSON: ${messageOf(err)}`);
  }
  const tooDeep = shape.tooDeep.length > 0 ? new Set(shape.tooDeep) : undefined;
  // A single event too deep was cut out whole: it is the one event, refused by the validator.
  if (parsed === null && tooDeep) return { events: [null], tooDeep };
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) throw new EventGateError('EG_ERR_BODY_EMPTY');
    return { events: parsed, tooDeep };
  }
  if (parsed !== null && typeof parsed === 'object') {
    if (isEvent(parsed)) return { events: [tooDeep ? null : parsed], tooDeep };
    throw new EventGateError('EG_ERR_BODY_EMPTY');
  }
  throw new EventGateError('EG_ERR_BODY_NOT_EVENTS', `Request body must be a JSON object or an array of JSON objects, not ${parsed === null ? 'null' : typeof parsed}.`);
}

/** Whether a value can be an event: a non-empty plain object (what the OpenAPI document's Event is). */
export function isEvent(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const k in value) if (Object.prototype.hasOwnProperty.call(value, k)) return true;
  return false;
}

/** The text with each span replaced by `null`. */
function withoutSpans(text: string, spans: readonly (readonly [number, number])[]): string {
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    out += text.slice(from, start) + 'null';
    from = end;
  }
  return out + text.slice(from);
}
