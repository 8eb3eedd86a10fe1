/**
 * Schema text to a schema object. Schema repositories hold YAML or JSON
 * under either extension (or none), so the content decides, not the name.
 */
import { CORE_SCHEMA, load } from 'js-yaml';
import { EventGateError } from '../errors';

export type SchemaObject = Record<string, unknown>;

export function parseSchemaText(text: string, href: string): SchemaObject {
  const value = looksLikeJson(text) ? parseJsonOrYaml(text, href) : parseYaml(text, href);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EventGateError('EG_ERR_SCHEMA_PARSE', `${href}: a schema must be an object, not ${describe(value)}.`);
  }
  return value as SchemaObject;
}

function looksLikeJson(text: string): boolean {
  return text.trimStart().startsWith('{');
}

// JSON.parse is much faster; YAML is the fallback because a YAML flow
// mapping (`{a: 1}`) also starts with a brace.
function parseJsonOrYaml(text: string, href: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text, href);
  }
}

function parseYaml(text: string, href: string): unknown {
  try {
    // CORE_SCHEMA, not the default: the default turns unquoted dates into
    // Date objects, which would change `default` and `examples` values.
    return load(text, { schema: CORE_SCHEMA });
  } catch (err) {
    throw new EventGateError('EG_ERR_SCHEMA_PARSE', `${href}: ${yamlReason(err)}`, { cause: err });
  }
}

/** js-yaml's message spans lines with a source excerpt; one line reads better in an event's error. */
function yamlReason(err: unknown): string {
  const { reason, mark, message } = err as { reason?: string; mark?: { line: number; column: number }; message?: string };
  if (reason && mark) return `${reason} (line ${mark.line + 1}, column ${mark.column + 1})`;
  return message ?? String(err);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
