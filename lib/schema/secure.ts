/**
 * The secure-schema check: ajv's json-schema-secure meta-schema refuses
 * schemas that let a crafted event make validation slow (a `pattern` or
 * `format` without `maxLength`, `patternProperties` without bounded
 * property names, `uniqueItems` on unbounded arrays of objects).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import ajvSecureSchema from 'ajv/dist/refs/json-schema-secure.json';
import { EventGateError } from '../errors';

/** Errors listed in one message at most: enough to fix a schema, short enough for an event's error. */
const MAX_LISTED = 5;

/**
 * ajv's rules descend only through draft-07 keywords. Later drafts hold
 * subschemas under new names, which would otherwise be skipped unchecked.
 */
function extendedSecureSchema(): Record<string, unknown> {
  const base = ajvSecureSchema as unknown as { properties: Record<string, unknown> } & Record<string, unknown>;
  return {
    ...base,
    $id: 'urn:eventgate:json-schema-secure',
    properties: {
      ...base.properties,
      $defs: { additionalProperties: { $ref: '#' } },
      dependentSchemas: { additionalProperties: { $ref: '#' } },
      prefixItems: { $ref: '#/definitions/schemaArray' },
      unevaluatedItems: { $ref: '#' },
      unevaluatedProperties: { $ref: '#' },
      contentSchema: { $ref: '#' },
    },
  };
}

let checker: ValidateFunction | undefined;

// Compiled on first use and shared: it holds no state between calls.
function secureChecker(): ValidateFunction {
  checker ??= new Ajv({ allErrors: true, strict: false, logger: false }).compile(extendedSecureSchema());
  return checker;
}

/** Throws EG_ERR_SCHEMA_INSECURE naming `uri` and what makes it insecure. */
export function assertSecure(doc: Record<string, unknown>, uri: string): void {
  const check = secureChecker();
  if (check(doc)) return;
  const errors = check.errors ?? [];
  const listed = errors.slice(0, MAX_LISTED).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is insecure'}`);
  const more = errors.length > MAX_LISTED ? ` (and ${errors.length - MAX_LISTED} more)` : '';
  throw new EventGateError('EG_ERR_SCHEMA_INSECURE', `Schema ${uri} is insecure: ${listed.join('; ')}${more}.`, {
    details: { uri, errors },
  });
}
