/**
 * JSON Schema drafts: which one a schema is written in, and the ajv class
 * that compiles it. All meta-schemas come from the ajv packages, so nothing
 * is ever fetched from json-schema.org.
 */
import Ajv, { type Logger, type Options } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import type AjvCore from 'ajv/dist/core';
import draft6MetaSchema from 'ajv/dist/refs/json-schema-draft-06.json';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { isDateTime } from './date-time';
import { EventGateError } from '../errors';

export type Draft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12';

/**
 * One ajv instance per family. Draft-06 shares draft-07's: ajv's default
 * class validates both once the draft-06 meta-schema is added. The other
 * drafts differ in keywords and cannot share an instance.
 */
export type Family = 'draft-04' | 'draft-07' | '2019-09' | '2020-12';

/** The `$schema` each draft's meta-schema is registered under in ajv. */
const META_URI: Record<Draft, string> = {
  'draft-04': 'http://json-schema.org/draft-04/schema#',
  'draft-06': 'http://json-schema.org/draft-06/schema#',
  'draft-07': 'http://json-schema.org/draft-07/schema#',
  '2019-09': 'https://json-schema.org/draft/2019-09/schema',
  '2020-12': 'https://json-schema.org/draft/2020-12/schema',
};

// Real schemas write these with either scheme and with or without the
// empty fragment (Wikimedia's use https and `#`); they all mean the draft.
const META_PATTERN = /^https?:\/\/json-schema\.org\/(draft-04|draft-06|draft-07|draft\/2019-09|draft\/2020-12)\/schema#?$/;

/** The draft of `doc` by its `$schema`; `fallback` when it has none. */
export function draftOf(doc: Record<string, unknown>, fallback: Draft, uri: string): Draft {
  const meta = doc.$schema;
  if (meta === undefined) return fallback;
  const m = typeof meta === 'string' ? META_PATTERN.exec(meta) : null;
  if (!m) {
    throw new EventGateError(
      'EG_ERR_SCHEMA_COMPILE',
      `Schema ${uri} has an unsupported $schema ${JSON.stringify(meta)}; use draft-04, -06, -07, 2019-09 or 2020-12.`,
    );
  }
  return m[1].replace('draft/', '') as Draft;
}

export function metaUriOf(draft: Draft): string {
  return META_URI[draft];
}

export function familyOf(draft: Draft): Family {
  return draft === 'draft-06' ? 'draft-07' : draft;
}

/** A schema without `$schema`, `$ref`'d from a schema of `family`, is read as that family's draft. */
export function defaultDraftOf(family: Family): Draft {
  return family;
}

/** Draft-04 names a schema's identifier `id`; later drafts `$id`. */
export function idKeywordOf(family: Family): 'id' | '$id' {
  return family === 'draft-04' ? 'id' : '$id';
}

export function createAjv(family: Family, logger: Logger | false): AjvCore {
  const opts: Options = {
    // Real schemas carry keywords ajv does not know (examples, x-...).
    strict: false,
    // Defaults from the schema are part of the event, as in EventGate.
    useDefaults: true,
    // allErrors lets a crafted event make validation much slower; first error is enough.
    allErrors: false,
    logger,
  };
  let ajv: AjvCore;
  switch (family) {
    case 'draft-04':
      ajv = new AjvDraft04(opts);
      break;
    case 'draft-07':
      ajv = new Ajv(opts);
      ajv.addMetaSchema(draft6MetaSchema);
      break;
    case '2019-09':
      ajv = new Ajv2019(opts);
      break;
    case '2020-12':
      ajv = new Ajv2020(opts);
      break;
  }
  addFormats(ajv);
  // ajv-formats' date-time is most of the cost of validating a typical event.
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  return ajv;
}
