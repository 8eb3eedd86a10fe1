/** Reads a dotted path (`meta.stream`) from an event; compiled once per config. */
export type FieldGetter = (event: Record<string, unknown>) => unknown;

export function fieldGetter(path: string): FieldGetter {
  const keys = path.split('.');
  if (keys.length === 1) {
    const [k] = keys;
    return (event) => (Object.prototype.hasOwnProperty.call(event, k) ? event[k] : undefined);
  }
  return (event) => {
    let value: unknown = event;
    for (const k of keys) {
      if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, k)) return undefined;
      value = (value as Record<string, unknown>)[k];
    }
    return value;
  };
}

/** The first of several paths that holds a non-empty string. */
export function firstStringGetter(paths: readonly string[]): (event: Record<string, unknown>) => string | undefined {
  const getters = paths.map(fieldGetter);
  return (event) => {
    for (const get of getters) {
      const v = get(event);
      if (typeof v === 'string' && v.length > 0) return v;
    }
    return undefined;
  };
}

/**
 * True when the value holds a number JSON.parse could only read as Infinity
 * (`1e400`): JSON.stringify would write it as null, silently changing data.
 */
export function hasNonFiniteNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasNonFiniteNumber);
  for (const k in value) {
    if (Object.prototype.hasOwnProperty.call(value, k) && hasNonFiniteNumber((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** Sets a dotted path, creating objects on the way (for events eventgate builds itself). */
export function setField(event: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = event;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = target[keys[i]];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) target = target[keys[i]] = {};
    else target = next as Record<string, unknown>;
  }
  target[keys[keys.length - 1]] = value;
}
