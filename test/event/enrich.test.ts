import { expect } from 'chai';
import type { IncomingHttpHeaders } from 'node:http';
import { makeEnricher, makeQueryEnricher, schemaDeclares, type RequestHeaders } from '../../lib/event/enrich';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const NOW = new Date('2024-05-06T07:08:09.123Z');
const now = () => NOW;

/** Shaped like a materialized Wikimedia event schema. */
const declaring = {
  title: 'test/event',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    meta: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        dt: { type: 'string', format: 'date-time' },
        stream: { type: 'string' },
        request_id: { type: 'string' },
      },
    },
    http: { type: 'object', properties: { request_headers: { type: 'object', additionalProperties: { type: 'string' } } } },
  },
};

/** Declares meta.stream only, and closes meta. */
const closed = {
  type: 'object',
  properties: { meta: { type: 'object', additionalProperties: false, properties: { stream: { type: 'string' } } } },
};

const enrich = makeEnricher({
  idField: 'meta.id',
  dtField: 'meta.dt',
  headersToFields: { 'User-Agent': 'http.request_headers.user-agent', 'x-request-id': 'meta.request_id' },
});

function enriched(schema: Record<string, unknown>, event: Record<string, unknown>, headers: RequestHeaders = {}): Record<string, unknown> {
  enrich(event, schema, headers, now);
  return event;
}

describe('enrichment', () => {
  describe('meta.id', () => {
    it('is set to a new UUID when absent and declared by the schema', () => {
      const a = enriched(declaring, { meta: { stream: 's' } });
      const b = enriched(declaring, { meta: { stream: 's' } });
      expect((a.meta as { id: string }).id).to.match(UUID);
      expect((a.meta as { id: string }).id).to.not.equal((b.meta as { id: string }).id);
    });

    it('is not set when the schema closes meta without declaring id', () => {
      expect(enriched(closed, { meta: { stream: 's' } })).to.deep.equal({ meta: { stream: 's' } });
    });
  });

  describe('meta.dt', () => {
    it('is set to now, ISO 8601, when absent and declared by the schema', () => {
      expect((enriched(declaring, {}).meta as { dt: string }).dt).to.equal('2024-05-06T07:08:09.123Z');
    });

    it('is not set when the schema declares it with a type other than string', () => {
      const schema = { type: 'object', properties: { meta: { type: 'object', properties: { dt: { type: 'integer' } } } } };
      expect(enriched(schema, {})).to.deep.equal({});
    });

    it('is not set when the schema does not declare it', () => {
      expect(enriched(closed, {})).to.deep.equal({});
    });
  });

  describe('request headers', () => {
    it('copies the user agent into a header map declared with an additionalProperties schema', () => {
      const headers: IncomingHttpHeaders = { 'user-agent': 'curl/8.0' };
      const event = enriched(declaring, {}, headers);
      expect(event.http).to.deep.equal({ request_headers: { 'user-agent': 'curl/8.0' } });
    });

    it('copies x-request-id into meta.request_id', () => {
      expect((enriched(declaring, {}, { 'x-request-id': 'req-1' }).meta as Record<string, unknown>).request_id).to.equal('req-1');
    });

    it('does not copy headers into a header map that the schema leaves undeclared', () => {
      const schema = { type: 'object', properties: { http: { type: 'object', properties: { request_headers: { type: 'object' } } } } };
      expect(enriched(schema, {}, { 'user-agent': 'curl/8.0' })).to.deep.equal({});
    });

    it('does not copy x-request-id when the schema closes meta without it', () => {
      expect(enriched(closed, { meta: { stream: 's' } }, { 'x-request-id': 'req-1' })).to.deep.equal({ meta: { stream: 's' } });
    });

    it('cuts header values to 400 characters, never splitting a surrogate pair', () => {
      const long = enriched(declaring, {}, { 'user-agent': 'a'.repeat(1000) });
      expect((long.http as { request_headers: Record<string, string> }).request_headers['user-agent']).to.equal('a'.repeat(400));
      const emoji = enriched(declaring, {}, { 'user-agent': 'a'.repeat(399) + '😀' });
      expect((emoji.http as { request_headers: Record<string, string> }).request_headers['user-agent']).to.equal('a'.repeat(399));
    });

    it("cuts header values to the field's own maxLength when the schema's is below 400", () => {
      const short = structuredClone(declaring);
      Object.assign(short.properties.meta.properties.request_id, { maxLength: 256 });
      const event = enriched(short, {}, { 'x-request-id': 'r'.repeat(300) });
      expect((event.meta as { request_id: string }).request_id).to.equal('r'.repeat(256));
    });

    it('leaves meta.id and meta.dt alone when their maxLength is too short for a uuid or a time', () => {
      const tiny = structuredClone(declaring);
      Object.assign(tiny.properties.meta.properties.id, { maxLength: 8 });
      Object.assign(tiny.properties.meta.properties.dt, { maxLength: 10 });
      expect(enriched(tiny, { meta: { stream: 's' } })).to.deep.equal({ meta: { stream: 's' } });
    });

    it('skips headers that are absent or empty', () => {
      expect(enriched(declaring, {}, { 'user-agent': '' }).http).to.equal(undefined);
    });
  });

  it('never overwrites a field the event already has', () => {
    const event = { meta: { id: 'mine', dt: '2000-01-01T00:00:00Z', request_id: 'r' }, http: { request_headers: { 'user-agent': 'ua' } } };
    const copy = structuredClone(event);
    enrich(event, declaring, { 'user-agent': 'other', 'x-request-id': 'other' }, now);
    expect(event).to.deep.equal(copy);
  });

  it('leaves a path alone when a step of it holds a non-object', () => {
    expect(enriched(declaring, { meta: 'oops', http: [] }, { 'user-agent': 'ua' })).to.deep.equal({ meta: 'oops', http: [] });
  });

  it('adds nothing to an event whose schema says nothing about its properties', () => {
    expect(enriched({ type: 'object' }, {}, { 'user-agent': 'ua', 'x-request-id': 'r' })).to.deep.equal({});
  });

  it('works out the declared fields once per schema object', () => {
    let reads = 0;
    const schema = new Proxy(structuredClone(declaring), {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    enrich({}, schema, {}, now);
    expect(reads).to.be.above(0);
    reads = 0;
    enrich({}, schema, {}, now);
    expect(reads).to.equal(0);
  });

  it('turns a field off with an empty path', () => {
    const idOnly = makeEnricher({ idField: 'meta.id', dtField: '' });
    const event: Record<string, unknown> = {};
    idOnly(event, declaring, {});
    expect(Object.keys(event.meta as object)).to.deep.equal(['id']);
  });

  it('refuses field paths that could reach an object prototype', () => {
    expect(() => makeEnricher({ idField: '__proto__.id' })).to.throw(/not a usable field path/);
  });
});

describe('what a schema declares', () => {
  it('follows local $refs', () => {
    const schema = {
      definitions: { meta: { type: 'object', properties: { id: { $ref: '#/definitions/id' } } }, id: { type: 'string' } },
      type: 'object',
      properties: { meta: { $ref: '#/definitions/meta' } },
    };
    expect(schemaDeclares(schema, ['meta', 'id'])).to.equal(true);
  });

  it('finds properties declared in allOf branches, and honours a branch that closes the object', () => {
    const meta = { type: 'object', properties: { id: { type: 'string' } } };
    expect(schemaDeclares({ allOf: [{ properties: { meta } }, { required: ['meta'] }] }, ['meta', 'id'])).to.equal(true);
    expect(schemaDeclares({ allOf: [{ properties: { meta } }, { additionalProperties: false }] }, ['meta', 'id'])).to.equal(false);
  });

  it('matches patternProperties, also past additionalProperties: false', () => {
    const schema = { type: 'object', additionalProperties: false, patternProperties: { '^x-': { type: 'string' } } };
    expect(schemaDeclares(schema, ['x-request-id'])).to.equal(true);
    expect(schemaDeclares(schema, ['request-id'])).to.equal(false);
  });

  it('takes a `true` subschema as any value and a `false` one as forbidden', () => {
    expect(schemaDeclares({ properties: { a: true } }, ['a'])).to.equal(true);
    expect(schemaDeclares({ properties: { a: false } }, ['a'])).to.equal(false);
  });

  it('does not follow $refs to other documents without a lookup of them', () => {
    expect(schemaDeclares({ properties: { meta: { $ref: '/fragment/common/1.0.0#/properties/meta' } } }, ['meta', 'id'])).to.equal(false);
  });

  it('follows $refs to other documents through the lookup, resolved against the referring id, and their local $refs in their own document', () => {
    const common = { $id: '/fragment/common/1.0.0', definitions: { s: { type: 'string' } }, properties: { meta: { properties: { id: { $ref: '#/definitions/s' } } } } };
    const docs: Record<string, Record<string, unknown>> = { '/fragment/common/1.0.0': common };
    const lookup = (id: string) => docs[id];
    expect(schemaDeclares({ $id: '/a/b/1.0.0', properties: { meta: { $ref: '/fragment/common/1.0.0#/properties/meta' } } }, ['meta', 'id'], lookup)).to.equal(true);
    expect(schemaDeclares({ $id: '/fragment/x/1.0.0', allOf: [{ $ref: '../common/1.0.0#' }] }, ['meta', 'id'], lookup)).to.equal(true);
    expect(schemaDeclares({ $id: '/a/b/1.0.0', allOf: [{ $ref: '/fragment/other/1.0.0#' }] }, ['meta', 'id'], lookup)).to.equal(false);
  });

  it('survives a $ref cycle', () => {
    expect(schemaDeclares({ properties: { a: { $ref: '#/properties/a' } } }, ['a', 'b'])).to.equal(false);
  });
});

describe('query-string enrichment', () => {
  const fromQuery = makeQueryEnricher({
    schemaUriField: ['$schema', 'meta.schema_uri'],
    streamField: 'meta.stream',
    schemaUriQueryParam: 'schema_uri',
    streamQueryParam: 'stream',
  })!;

  it('fills an absent schema URI and stream from the query string', () => {
    const event: Record<string, unknown> = { a: 1 };
    fromQuery(event, new URLSearchParams('schema_uri=/test/event/1.0.0&stream=test.event'));
    expect(event).to.deep.equal({ a: 1, $schema: '/test/event/1.0.0', meta: { stream: 'test.event' } });
  });

  it('leaves fields the event has, including a schema URI in a later field of the list', () => {
    const event = { meta: { stream: 'mine', schema_uri: '/mine/1.0.0' } };
    fromQuery(event, new URLSearchParams('schema_uri=/x/1.0.0&stream=x'));
    expect(event).to.deep.equal({ meta: { stream: 'mine', schema_uri: '/mine/1.0.0' } });
  });

  it('ignores empty or missing parameters', () => {
    const event = {};
    fromQuery(event, new URLSearchParams('schema_uri=&other=1'));
    expect(event).to.deep.equal({});
  });

  it('is not made when neither parameter is configured', () => {
    expect(makeQueryEnricher({ schemaUriField: '$schema', streamField: 'meta.stream' })).to.equal(undefined);
  });
});
