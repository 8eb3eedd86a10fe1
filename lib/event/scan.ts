/**
 * One pass over a body's JSON text, before JSON.parse: how many events it
 * holds and which of them nest deeper than allowed. Both are limits a client
 * controls: a flood of tiny events would cost memory and time per event
 * (refused here, before any is built), and a deeply nested event would
 * overflow the stack of everything recursive after the parse (stringify,
 * the answer, error events), failing its neighbours with it. The scan reads
 * brackets outside strings only; what is not JSON is JSON.parse's to refuse.
 */
import { EventGateError } from '../errors';

export interface EventLimits {
  /** Deepest nesting of objects and arrays in one event; the event itself is 1. */
  readonly maxDepth: number;
  /** Most events in one request. */
  readonly maxEvents: number;
}

/** The limits of a service's conf. */
export function eventLimitsOf(conf: { readonly max_event_depth: number; readonly max_events_per_request: number }): EventLimits {
  return { maxDepth: conf.max_event_depth, maxEvents: conf.max_events_per_request };
}

export interface BodyShape {
  /** Events in the body: the top-level array's elements, or 1 for an object. */
  readonly count: number;
  /** Indexes of events nested deeper than maxDepth, in order (empty when none). */
  readonly tooDeep: readonly number[];
  /** For each of them, the [start, end) of its text: cut out before parsing, it is never built. */
  readonly spans: readonly (readonly [number, number])[];
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Throws EG_ERR_TOO_MANY_EVENTS as soon as the count passes the limit. */
export function scanBody(text: string, limits: EventLimits): BodyShape {
  const n = text.length;
  let i = 0;
  while (i < n && text.charCodeAt(i) <= 0x20) i++;
  // In a top-level array the events are one level down; a top-level object is the one event.
  const inArray = text.charCodeAt(i) === OPEN_ARRAY;
  const eventLevel = inArray ? 1 : 0;
  const { maxDepth, maxEvents } = limits;
  const tooDeep: number[] = [];
  const spans: [number, number][] = [];
  let depth = 0;
  let index = 0;
  let seen = false;
  let flagged = false;
  // Where the current event's text starts: after the array's '[' or the last top-level ','.
  let start = inArray ? i + 1 : i;
  const close = (end: number) => {
    if (flagged) spans.push([start, end]);
    flagged = false;
  };
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: brackets inside it are data.
      i = stringEnd(text, i);
      if (depth === eventLevel) seen = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === eventLevel) seen = true;
      depth++;
      if (depth - eventLevel > maxDepth && !flagged) {
        tooDeep.push(index);
        flagged = true;
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      if (inArray && depth === 0) close(i);
    } else if (c === COMMA && inArray && depth === 1) {
      close(i);
      index++;
      start = i + 1;
      if (index >= maxEvents) tooMany(maxEvents);
    } else if (depth === eventLevel && c > 0x20) {
      seen = true;
    }
  }
  // Unclosed (malformed) text: the deep event runs to the end; JSON.parse refuses what is left.
  close(n);
  const count = inArray ? (seen ? index + 1 : 0) : 1;
  if (count > maxEvents) tooMany(maxEvents);
  return { count, tooDeep, spans };
}

/**
 * Where the string opened at `open` closes (`text.length` when it does not).
 * Strings are most of an event's text: indexOf finds each candidate quote
 * far faster than a loop over every character would, and a quote closes the
 * string when an even run of backslashes (none, usually) precedes it.
 */
function stringEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  while (q !== -1) {
    let b = q - 1;
    while (text.charCodeAt(b) === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
  return text.length;
}

function tooMany(maxEvents: number): never {
  throw new EventGateError('EG_ERR_TOO_MANY_EVENTS', `Request holds more than max_events_per_request (${maxEvents}) events.`);
}
