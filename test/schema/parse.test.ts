import { expect } from 'chai';
import { parseSchemaText } from '../../lib/schema/parse';
import { thrown } from '../helpers/schema-server';

describe('schema parsing', () => {
  it('parses YAML', () => {
    expect(parseSchemaText('type: object\nrequired: [a]\n', 'x')).to.deep.equal({ type: 'object', required: ['a'] });
  });

  it('parses JSON', () => {
    expect(parseSchemaText('  {"type": "object", "maxProperties": 3}', 'x')).to.deep.equal({ type: 'object', maxProperties: 3 });
  });

  it('parses a YAML flow mapping that starts with a brace like JSON does', () => {
    expect(parseSchemaText('{type: object, title: t}', 'x')).to.deep.equal({ type: 'object', title: 't' });
  });

  it('keeps an unquoted date a string, so defaults and examples stay JSON', () => {
    const doc = parseSchemaText('default: 2024-01-01T00:00:00Z\n', 'x');
    expect(doc.default).to.equal('2024-01-01T00:00:00Z');
  });

  it('refuses a document that is not an object, naming where it came from', () => {
    for (const text of ['- a\n- b\n', '"just a string"', '42', '', 'null']) {
      const err = thrown(() => parseSchemaText(text, 'file:///s/x.yaml'), 'EG_ERR_SCHEMA_PARSE');
      expect(err.message).to.contain('file:///s/x.yaml').and.to.contain('must be an object');
    }
  });

  it('refuses malformed YAML with the line of the problem', () => {
    const err = thrown(() => parseSchemaText('type: object\nproperties:\n  a: {type: string\n', 'file:///s/x.yaml'), 'EG_ERR_SCHEMA_PARSE');
    expect(err.message).to.match(/^file:\/\/\/s\/x\.yaml: .*line \d+/);
    expect(err.message).not.to.contain('\n');
  });

  it('refuses duplicate keys, which would silently drop a definition', () => {
    thrown(() => parseSchemaText('type: object\ntype: string\n', 'x'), 'EG_ERR_SCHEMA_PARSE');
  });
});
