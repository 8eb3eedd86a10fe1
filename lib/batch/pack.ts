/**
 * What a thread's reply carries, packed for the crossing and unpacked on the
 * main thread. Serialized events cross in one transferred buffer: a transfer
 * per event would cost more than the copy it saves, and small Buffers share
 * Node's pool slab, which cannot be transferred at all. Repeated strings
 * cross once.
 */
import { ACCEPTED, type EventResult, type FailedResult } from '../gate/result';
import type { Validated } from '../gate/validate';
import type { OutboundEvent } from '../sink/sink';
import type { BatchReply, Interned, MetricSample, PackedOutbound } from './task';

type ValidatedReply = Extract<BatchReply, { kind: 'validated' }>;

const NEWLINE = 0x0a;

export function intern(values: readonly (string | undefined)[]): Interned {
  const table: string[] = [];
  const idOf = new Map<string, number>();
  const ids = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined) continue;
    let id = idOf.get(v);
    if (id === undefined) idOf.set(v, (id = table.push(v)));
    ids[i] = id;
  }
  return { table, ids };
}

export function unintern({ table, ids }: Interned): (string | undefined)[] {
  const out = new Array<string | undefined>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = ids[i] === 0 ? undefined : table[ids[i] - 1];
  return out;
}

/**
 * Copies every value and key of `validated.outbound` into one fresh
 * ArrayBuffer: the values first, each followed by a newline, so that they
 * are already the NDJSON a file sink writes in one piece; then the keys.
 */
function packOutbound(validated: Validated): PackedOutbound {
  const { outbound, outboundIndex } = validated;
  const n = outbound.length;
  const valueLength = new Uint32Array(n);
  const keyLength = new Int32Array(n);
  const timestamps = new Float64Array(n);
  const topics = new Array<string>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = outbound[i];
    valueLength[i] = typeof o.value === 'string' ? Buffer.byteLength(o.value) : o.value.length;
    keyLength[i] = o.key ? o.key.length : -1;
    total += valueLength[i] + 1 + (o.key ? o.key.length : 0);
    timestamps[i] = o.timestamp ?? NaN;
    topics[i] = o.topic;
  }
  const bytes = new ArrayBuffer(total);
  const view = Buffer.from(bytes);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const value = outbound[i].value;
    // Text is encoded straight into the buffer that is transferred: no Buffer per event.
    if (typeof value === 'string') view.write(value, at);
    else view.set(value, at);
    at += valueLength[i];
    view[at++] = NEWLINE;
  }
  for (let i = 0; i < n; i++) {
    const key = outbound[i].key;
    if (!key) continue;
    view.set(key, at);
    at += key.length;
  }
  return { bytes, valueLength, keyLength, index: Uint32Array.from(outboundIndex), topics: intern(topics), timestamps };
}

/** Thread side: the reply for a validated batch; `outbound.bytes` is to be transferred. */
export function packReply(events: readonly unknown[], validated: Validated, metrics: MetricSample[], threadMs: number): ValidatedReply {
  const n = events.length;
  const failures = new Array<FailedResult>(n);
  const failedEvents = new Array<unknown>(n);
  const failedUris = new Array<string | undefined>(n);
  for (let i = 0; i < n; i++) {
    const r = validated.results[i];
    if (r.status === 'accepted') continue;
    failures[i] = r;
    failedEvents[i] = events[i];
    failedUris[i] = validated.uris[i];
  }
  return {
    kind: 'validated',
    count: n,
    failures,
    failedEvents,
    failedUris,
    streams: intern(validated.streams),
    outbound: packOutbound(validated),
    metrics,
    threadMs,
  };
}

/** Main side: the batch as the in-thread validator would have given it; values are views into the transferred buffer. */
export function unpackReply(reply: ValidatedReply): Validated {
  const results = new Array<EventResult>(reply.count).fill(ACCEPTED);
  reply.failures.forEach((r, i) => (results[i] = r));
  const streams = unintern(reply.streams);
  const { bytes, valueLength, keyLength, index, timestamps } = reply.outbound;
  const topics = unintern(reply.outbound.topics);
  const n = valueLength.length;
  const outbound = new Array<OutboundEvent>(n);
  const outboundIndex = new Array<number>(n);
  let at = 0;
  let keyAt = 0;
  for (let i = 0; i < n; i++) keyAt += valueLength[i] + 1;
  for (let i = 0; i < n; i++) {
    const value = Buffer.from(bytes, at, valueLength[i]);
    at += valueLength[i] + 1;
    let key: Buffer | null = null;
    if (keyLength[i] >= 0) {
      key = Buffer.from(bytes, keyAt, keyLength[i]);
      keyAt += keyLength[i];
    }
    const ts = timestamps[i];
    outbound[i] = { stream: streams[index[i]] as string, topic: topics[i] as string, value, key, timestamp: Number.isNaN(ts) ? undefined : ts };
    outboundIndex[i] = index[i];
  }
  // Only failed events' URIs came back: error events are all that reads them.
  return { results, outbound, outboundIndex, streams, uris: reply.failedUris };
}
