import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSchemaText } from '../../lib/schema/parse';
import { assertSecure } from '../../lib/schema/secure';
import { thrown, WMF } from '../helpers/schema-server';

describe('secure-schema check', () => {
  it('passes a schema whose patterns and formats all have a maxLength', () => {
    assertSecure({ type: 'object', properties: { a: { type: 'string', pattern: '^a+$', maxLength: 10 }, b: { type: 'string', format: 'uri', maxLength: 100 } } }, '/s');
  });

  it('refuses a pattern without maxLength, naming the schema and the place', () => {
    const err = thrown(() => assertSecure({ type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } }, '/test/x/1.0.0'), 'EG_ERR_SCHEMA_INSECURE');
    expect(err.message).to.contain('/test/x/1.0.0').and.to.contain('/properties/name').and.to.contain('maxLength');
  });

  it('refuses a format without maxLength deep inside items and allOf', () => {
    thrown(() => assertSecure({ allOf: [{ items: { type: 'string', format: 'email' } }] }, '/s'), 'EG_ERR_SCHEMA_INSECURE');
  });

  it('refuses patternProperties without bounded property names', () => {
    thrown(() => assertSecure({ patternProperties: { '^x': { type: 'string' } } }, '/s'), 'EG_ERR_SCHEMA_INSECURE');
  });

  it('looks inside the subschema keywords of 2019-09 and 2020-12 too', () => {
    const insecure = { type: 'string', pattern: '^(a+)+$' };
    for (const schema of [{ $defs: { x: insecure } }, { prefixItems: [insecure] }, { dependentSchemas: { a: insecure } }, { unevaluatedProperties: insecure }]) {
      thrown(() => assertSecure(schema, '/s'), 'EG_ERR_SCHEMA_INSECURE');
    }
  });

  it('passes every real Wikimedia schema in the fixtures', () => {
    const names = ['error/2.1.0', 'fragment/common/2.0.0', 'fragment/http/1.2.0', 'mediawiki/page/change/1.2.0', 'mediawiki/recentchange/1.0.1', 'mediawiki/revision/create/2.0.0', 'test/event/1.0.0'];
    for (const name of names) {
      const file = join(WMF, `${name}.yaml`);
      assertSecure(parseSchemaText(readFileSync(file, 'utf8'), file), name);
    }
  });
});
