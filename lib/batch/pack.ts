/**
 * What a thread's reply carries, packed for the crossing and unpacked on the
 * main thread. Serialized events cross in one transferred buffer: a transfer
 * per event would cost more than the copy it saves, and small Buffers share
 * Node's pool slab, which cannot be transferred at all. Repeated strings
 * cross once. No object per event crosses (structured clone would rebuild
 * each on the main thread): the only ones made there are the outbound
 * events the sink takes, views into the packed buffer.
 */
import type { PreparedBatch } from '../pipeline/prepare';
import type { OutboundEvent } from '../sink/sink';
import type { Interned, MetricSample, PackedBatch, PackedOutbound } from './task';

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
 * Copies every value and key of `outbound` into one fresh ArrayBuffer: the
 * values first, each followed by a newline, so that they are already the
 * NDJSON a file sink writes in one piece; then the keys.
 */
export function packOutbound(batch: { readonly outbound: readonly OutboundEvent[]; readonly outboundIndex: ArrayLike<number> }): PackedOutbound {
  const { outbound, outboundIndex } = batch;
  const n = outbound.length;
  const valueLength = new Uint32Array(n);
  const keyLength = new Int32Array(n);
  const timestamps = new Float64Array(n);
  const topics = new Array<string>(n);
  const streams = new Array<string>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = outbound[i];
    valueLength[i] = typeof o.value === 'string' ? Buffer.byteLength(o.value) : o.value.length;
    keyLength[i] = o.key ? o.key.length : -1;
    total += valueLength[i] + 1 + (o.key ? o.key.length : 0);
    timestamps[i] = o.timestamp ?? NaN;
    topics[i] = o.topic;
    streams[i] = o.stream;
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
  return { bytes, valueLength, keyLength, index: Uint32Array.from(outboundIndex), streams: intern(streams), topics: intern(topics), timestamps };
}

/** Thread side: a prepared batch for the crossing; the buffers of `transferOf(packed)` are to be transferred. */
export function packBatch(prepared: PreparedBatch, metrics: MetricSample[], threadMs: number): PackedBatch {
  const made = prepared.errorEvents;
  return {
    kind: 'validated',
    count: prepared.count,
    holdsNonEvent: prepared.holdsNonEvent,
    outbound: packOutbound(prepared),
    answer: prepared.answer,
    counts: [...prepared.counts],
    schemaCounts: prepared.schemaCounts,
    errorEvents: made ? { made: made.made, outbound: packOutbound({ outbound: made.outbound, outboundIndex: [] }), firstInvalid: made.firstInvalid } : undefined,
    metrics,
    threadMs,
  };
}

/** What a packed batch transfers rather than copies (an empty buffer may be a shared constant: it is copied). */
export function transferOf(packed: PackedBatch): ArrayBuffer[] {
  const list = [packed.outbound.bytes];
  if (packed.answer.bytes.byteLength > 0) list.push(packed.answer.bytes);
  if (packed.errorEvents) list.push(packed.errorEvents.outbound.bytes);
  return list;
}

/** Main side: the prepared batch again, its outbound events views into the transferred buffers. */
export function unpackBatch(packed: PackedBatch): PreparedBatch {
  const made = packed.errorEvents;
  return {
    count: packed.count,
    holdsNonEvent: packed.holdsNonEvent,
    outbound: unpackOutbound(packed.outbound),
    outboundIndex: packed.outbound.index,
    counts: packed.counts,
    schemaCounts: packed.schemaCounts,
    errorEvents: made ? { made: made.made, outbound: unpackOutbound(made.outbound), firstInvalid: made.firstInvalid } : undefined,
    answer: packed.answer,
  };
}

/** Main side: the outbound events, as views into the transferred buffer. */
export function unpackOutbound(packed: PackedOutbound): OutboundEvent[] {
  const { bytes, valueLength, keyLength, timestamps } = packed;
  const streams = unintern(packed.streams);
  const topics = unintern(packed.topics);
  const n = valueLength.length;
  const outbound = new Array<OutboundEvent>(n);
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
    outbound[i] = { stream: streams[i] as string, topic: topics[i] as string, value, key, timestamp: Number.isNaN(ts) ? undefined : ts };
  }
  return outbound;
}
