/**
 * The ledger of the fault tests can fail: each of its checks finds the
 * event it is about, and the load generator reads answers as the API writes
 * them (a real node:http server answering as eventgate does).
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from '../helpers/until';
import { checkLedger, LedgerLoad, missingFrom, summarize, type Answer } from '../helpers/ledger';

describe('The fault-test ledger', () => {
  const answers = new Map<string, Answer>([
    ['a1', 'accepted'],
    ['a2', 'accepted'],
    ['a3', 'accepted'],
    ['e1', 'error'],
    ['e2', 'error'],
    ['e3', 'error'],
    ['i1', 'invalid'],
    ['n1', 'none'],
  ]);

  it('finds an accepted event missing from the topic and one that is there twice', () => {
    const f = checkLedger(answers, ['a1', 'a3', 'a3', 'e1'], ['e2', 'e3']);
    expect(f.acceptedNotOnce).to.deep.equal(['a2 (0 times)', 'a3 (2 times)']);
  });

  it('finds an errored event in neither the topic nor the spool', () => {
    const f = checkLedger(answers, ['a1', 'a2', 'a3', 'e1'], ['e3']);
    expect(f.errorLost).to.deep.equal(['e2']);
  });

  it('finds an event both in the topic and in the spool, and an invalid event written', () => {
    const f = checkLedger(answers, ['a1', 'a2', 'a3', 'e1', 'i1'], ['e1', 'e2', 'e3']);
    expect(f.inBoth).to.deep.equal(['e1']);
    expect(f.invalidWritten).to.deep.equal(['i1']);
  });

  it('finds nothing wrong when the topic and the spool hold exactly what was answered', () => {
    const f = checkLedger(answers, ['a1', 'a2', 'a3', 'e1', 'n1'], ['e2', 'e3']);
    expect(f).to.deep.equal({ acceptedNotOnce: [], errorLost: [], inBoth: [], invalidWritten: [] });
  });

  it('lists validated events missing after a replay, not invalid or unanswered ones', () => {
    expect(missingFrom(answers, ['a1', 'a2', 'e1', 'e2', 'e3'])).to.deep.equal(['a3']);
  });

  it('summarizes answers, distinct events in the topic, duplicates and events in both', () => {
    expect(summarize(answers, ['a1', 'a1', 'e1', 'other'], ['e1', 'e2'])).to.deep.equal({
      answers: { accepted: 3, invalid: 1, error: 3, none: 1 },
      inTopic: 2,
      duplicates: 1,
      spooled: 2,
      inBoth: 1,
    });
  });

  describe('load generator', () => {
    let server: Server | undefined;
    let load: LedgerLoad | undefined;

    afterEach(async () => {
      await load?.stop();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
      load = undefined;
    });

    it('records each event as its answer says: 201 accepted; 207 by its lists, an unlisted event accepted; 503 by its lists; a reset as none', async () => {
      let n = 0;
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          const events = (Array.isArray(body) ? body : [body]) as { meta: { id: string } }[];
          const turn = n++ % 4;
          const item = (status: string, e: unknown) => ({ status, event: e, context: {} });
          if (turn === 0) res.writeHead(201).end();
          else if (turn === 1 && events.length > 1) {
            res.writeHead(207, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ invalid: [item('invalid', events[0])], error: [] }));
          } else if (turn === 2) {
            res.writeHead(503, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ invalid: [], error: events.map((e) => item('error', e)) }));
          } else req.socket.destroy();
        });
      });
      await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      load = new LedgerLoad(port, { stream: 's', concurrency: 1, timeoutMs: 5000 });
      const live = load;
      await until(() => live.requests.length >= 8, 10000, '8 requests');
      await live.stop();

      const byRequest = live.requests.map((r) => r.ids.map((id) => live.answers.get(id)));
      for (const [i, got] of byRequest.entries()) {
        const r = live.requests[i];
        if (r.status === 201) expect(got, `request ${i}`).to.deep.equal(r.ids.map(() => 'accepted'));
        else if (r.status === 207) expect(got, `request ${i}`).to.deep.equal(['invalid', ...r.ids.slice(1).map(() => 'accepted')]);
        else if (r.status === 503) expect(got, `request ${i}`).to.deep.equal(r.ids.map(() => 'error'));
        else expect(got, `request ${i}: ${r.error}`).to.deep.equal(r.ids.map(() => 'none'));
      }
      expect(new Set(live.requests.map((r) => r.status ?? 'reset')), 'every kind of answer was seen').to.deep.equal(new Set([201, 207, 503, 'reset']));
      expect(live.anomalies, 'a 503 and a 207 with their lists are what the API writes').to.deep.equal([]);
      expect(new Set(live.answers.keys()).size, 'a fresh id per event').to.equal(live.requests.reduce((sum, r) => sum + r.ids.length, 0));
    });
  });
});
