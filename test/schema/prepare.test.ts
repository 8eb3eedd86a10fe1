import { expect } from 'chai';
import { prepareSchema, schemaIdFor } from '../../lib/schema/prepare';

describe('schema preparation for ajv', () => {
  it('rewrites $schema to the URI ajv knows the draft by, whatever its spelling', () => {
    const out = prepareSchema({ $schema: 'https://json-schema.org/draft-07/schema#', $id: '/a/1.0.0' }, 'draft-07', 'draft-07', '/a/1.0.0');
    expect(out.$schema).to.equal('http://json-schema.org/draft-07/schema#');
  });

  it('leaves the fetched document untouched', () => {
    const doc = { $schema: 'https://json-schema.org/draft-07/schema#', properties: { a: { $id: '/x', type: 'string' }, b: { $id: '/x', type: 'string' } } };
    const before = structuredClone(doc);
    prepareSchema(doc, 'draft-07', 'draft-07', '/a/1.0.0');
    expect(doc).to.deep.equal(before);
  });

  it('drops a nested $id that occurs more than once, and keeps one that occurs once', () => {
    const out = prepareSchema(
      {
        $id: '/a/1.0.0',
        properties: {
          one: { $id: '/frag/x/1.0.0', type: 'string', description: 'first copy' },
          two: { items: { $id: '/frag/x/1.0.0', type: 'string', description: 'second copy' } },
          three: { $id: '/frag/y/1.0.0', type: 'integer' },
        },
      },
      'draft-07',
      'draft-07',
      '/a/1.0.0',
    );
    const props = out.properties as Record<string, Record<string, unknown>>;
    expect(props.one).to.not.have.property('$id');
    expect((props.two.items as Record<string, unknown>).$id).to.equal(undefined);
    expect(props.three.$id).to.equal('/frag/y/1.0.0');
  });

  it('treats $id inside data (examples, a property named $id) as data', () => {
    const out = prepareSchema(
      { $id: '/a/1.0.0', properties: { $id: { type: 'string' } }, examples: [{ $id: '/e' }, { $id: '/e' }] },
      'draft-07',
      'draft-07',
      '/a/1.0.0',
    );
    expect(out.properties).to.deep.equal({ $id: { type: 'string' } });
    expect(out.examples).to.deep.equal([{ $id: '/e' }, { $id: '/e' }]);
  });

  it('names a draft-04 schema by `id`', () => {
    const out = prepareSchema({ type: 'object' }, 'draft-04', 'draft-04', '/d4/1.0.0');
    expect(out.id).to.equal('/d4/1.0.0');
    expect(out).to.not.have.property('$id');
  });

  describe('schema ids', () => {
    it('keeps the id a schema from a base declares', () => {
      expect(schemaIdFor('/test/event/1.0.0.yaml', '/test/event/1.0.0')).to.equal('/test/event/1.0.0');
    });

    it('names a schema without id by its rooted URI', () => {
      expect(schemaIdFor('test/event/1.0.0', undefined)).to.equal('/test/event/1.0.0');
    });

    it('resolves the id of an absolutely named schema against its URI', () => {
      expect(schemaIdFor('http://h.example/r/test/event/1.0.0', '/test/event/1.0.0')).to.equal('http://h.example/test/event/1.0.0');
      expect(schemaIdFor('http://h.example/r/x/1.0.0', undefined)).to.equal('http://h.example/r/x/1.0.0');
    });
  });
});
