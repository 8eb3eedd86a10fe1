/**
 * Which requests go to the pool, decided on the raw body without parsing it:
 * parsing on the main thread is the work the pool exists to take away.
 */

/**
 * What marks one event in a body: its schema URI field's key, quoted
 * (`"$schema"`). For a dotted path, the last key; for a list, the first path.
 */
export function eventMarker(schemaUriField: string | readonly string[]): Buffer {
  const path = typeof schemaUriField === 'string' ? schemaUriField : schemaUriField[0];
  return Buffer.from(JSON.stringify(path.slice(path.lastIndexOf('.') + 1)));
}

/**
 * Whether the body holds the marker at least `n` times: a count of events
 * that costs a native substring search per event up to `n`, and stops there.
 * It can be wrong (a key spelt with escapes, an event without the field, the
 * key in a nested object): that only moves a request between two paths that
 * answer the same.
 */
export function holdsAtLeast(body: Buffer, marker: Buffer, n: number): boolean {
  // The smallest event that has the field: {"$schema":"/"} is the key and 7 bytes more.
  if (body.length < n * (marker.length + 7)) return false;
  let at = 0;
  for (let found = 0; found < n; found++) {
    const i = body.indexOf(marker, at);
    if (i === -1) return false;
    at = i + marker.length;
  }
  return true;
}
