import { expect } from 'chai';
import { headerMaker } from '../../lib/sink/kafka/headers';

describe('Kafka message headers (kafka.message_headers)', function () {
  it('makes no header list when none is named, whatever the request id', function () {
    const make = headerMaker([]);
    expect(make('r-1')).to.equal(undefined);
    expect(make(undefined)).to.equal(undefined);
  });

  it("gives x-request-id the call's request id, and leaves it out when the call has none", function () {
    const make = headerMaker(['x-request-id']);
    expect(make('r-1')).to.deep.equal([{ 'x-request-id': 'r-1' }]);
    expect(make('')).to.equal(undefined);
    expect(make(undefined)).to.equal(undefined);
  });

  it('puts content-type first, then x-request-id, in the order node-rdkafka sends them', function () {
    expect(headerMaker(['x-request-id', 'content-type'])('r-2')).to.deep.equal([{ 'content-type': 'application/json' }, { 'x-request-id': 'r-2' }]);
    expect(headerMaker(['content-type'])('r-2')).to.deep.equal([{ 'content-type': 'application/json' }]);
    expect(headerMaker(['content-type', 'x-request-id'])(undefined)).to.deep.equal([{ 'content-type': 'application/json' }]);
  });
});
