/**
 * A failure on our side while answering events (a bug, injected here by
 * making the produce step throw or reject) is answered 500 EG_ERR_INTERNAL, logged and
 * counted, and the service goes on answering.
 */
import { expect } from 'chai';
import { Gate } from '../../lib/pipeline/produce';
import { post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const EVENT = { $schema: '/test/event/1.0.0', meta: { stream: 'test.event' } };

describe('internal errors', () => {
  let svc: TestService;
  const original = Object.getOwnPropertyDescriptor(Gate.prototype, 'produce') as PropertyDescriptor;
  before(async () => {
    svc = await startTestService();
  });
  afterEach(() => Object.defineProperty(Gate.prototype, 'produce', original));
  after(() => svc.close());

  for (const how of ['throws', 'rejects'] as const) {
    it(`answers 500 EG_ERR_INTERNAL when producing ${how}, counts it, and keeps serving`, async () => {
      const before = svc.metrics.counter('http.internal_error');
      Object.defineProperty(Gate.prototype, 'produce', {
        value: () => {
          if (how === 'throws') throw new Error('injected failure');
          return Promise.reject(new Error('injected failure'));
        },
        configurable: true,
        writable: true,
      });
      const failed = await post(svc.port, EVENT);
      expect(failed.status).to.equal(500);
      expect(failed.json).to.deep.include({ code: 'EG_ERR_INTERNAL' });
      expect(svc.metrics.counter('http.internal_error')).to.equal(before + 1);
      Object.defineProperty(Gate.prototype, 'produce', original);
      expect((await post(svc.port, EVENT)).status).to.equal(201);
    });
  }
});
