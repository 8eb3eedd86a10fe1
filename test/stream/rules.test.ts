import { expect } from 'chai';
import { ERRORS } from '../../lib/errors';
import { checkStream, messageKey, topicFor } from '../../lib/stream/rules';

describe('stream rules', () => {
  describe('checkStream', () => {
    it('lets an event through when its schema title is the stream schema_title', () => {
      expect(checkStream('test.event', 'test/event', { schema_title: 'test/event' })).to.equal(undefined);
    });

    it('lets any schema through to a configured stream without schema_title', () => {
      expect(checkStream('test.event', 'whatever', {})).to.equal(undefined);
      expect(checkStream('test.event', undefined, {})).to.equal(undefined);
    });

    it('refuses an unconfigured stream as invalid, naming the stream', () => {
      const refusal = checkStream('no.such.stream', 'test/event', undefined);
      expect(refusal?.code).to.equal('EG_ERR_STREAM_NOT_CONFIGURED');
      expect(ERRORS.EG_ERR_STREAM_NOT_CONFIGURED.event).to.equal('invalid');
      expect(refusal?.message).to.contain('"no.such.stream"');
    });

    it('refuses a schema title mismatch as invalid, naming the stream, the expected and the actual title', () => {
      const refusal = checkStream('test.event', 'other/thing', { schema_title: 'test/event' });
      expect(refusal?.code).to.equal('EG_ERR_STREAM_SCHEMA_TITLE');
      expect(ERRORS.EG_ERR_STREAM_SCHEMA_TITLE.event).to.equal('invalid');
      expect(refusal?.message).to.equal(
        'Stream "test.event" requires schema title "test/event", but the event\'s schema has title "other/thing".',
      );
    });

    it('says so when the schema has no title at all', () => {
      expect(checkStream('test.event', undefined, { schema_title: 'test/event' })?.message).to.contain("the event's schema has no title");
    });

    it('keeps a huge client-supplied stream name out of the message', () => {
      const refusal = checkStream('s'.repeat(100_000), undefined, undefined);
      expect(refusal?.message.length).to.be.below(400);
    });
  });

  describe('messageKey', () => {
    const settings = { message_key_fields: { wiki_id: 'wiki_id', page_id: 'page.page_id' } };

    it('builds a JSON object of the key fields, in config order, from dotted paths', () => {
      const key = messageKey({ wiki_id: 'enwiki', page: { page_id: 42, title: 'X' } }, settings);
      expect(key?.toString()).to.equal('{"wiki_id":"enwiki","page_id":42}');
    });

    it('writes null for a key field the event does not have', () => {
      expect(messageKey({ wiki_id: 'enwiki' }, settings)?.toString()).to.equal('{"wiki_id":"enwiki","page_id":null}');
    });

    it('keeps object values whole', () => {
      const key = messageKey({ meta: { id: 'x', domain: 'd' } }, { message_key_fields: { meta: 'meta' } });
      expect(JSON.parse(key!.toString())).to.deep.equal({ meta: { id: 'x', domain: 'd' } });
    });

    it('is null when the stream has no key fields, or is unconfigured', () => {
      expect(messageKey({ a: 1 }, {})).to.equal(null);
      expect(messageKey({ a: 1 }, { message_key_fields: {} })).to.equal(null);
      expect(messageKey({ a: 1 }, undefined)).to.equal(null);
    });
  });

  describe('topicFor', () => {
    it("uses the service's topic_prefix when the stream says nothing about prefixes", () => {
      expect(topicFor('s', {}, 'eqiad.')).to.equal('eqiad.s');
      expect(topicFor('s', undefined, '')).to.equal('s');
    });

    it("uses the stream's own topic_prefix over the service's", () => {
      expect(topicFor('s', { topic_prefix: 'codfw.', topic_prefixes: ['eqiad.'] }, 'eqiad.')).to.equal('codfw.s');
      expect(topicFor('s', { topic_prefix: '' }, 'eqiad.')).to.equal('s');
    });

    it("uses the service's topic_prefix when the stream's topic_prefixes list it", () => {
      expect(topicFor('s', { topic_prefixes: ['eqiad.', 'codfw.'] }, 'codfw.')).to.equal('codfw.s');
    });

    it("uses the first of the stream's topic_prefixes when the service's is not listed", () => {
      expect(topicFor('s', { topic_prefixes: ['eqiad.', 'codfw.'] }, '')).to.equal('eqiad.s');
      expect(topicFor('s', { topic_prefixes: [] }, 'x.')).to.equal('x.s');
    });
  });
});
