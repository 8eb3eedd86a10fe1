/**
 * eventgate against a replicated Kafka cluster (3 nodes, replication factor
 * 3, min.insync.replicas=2) while things fail, checked with a ledger of
 * every event: what the service answered for it, against what the topic
 * and the spool hold afterwards (test/helpers/cluster-faults.ts runs the faults).
 */
import { expect } from 'chai';
import { useCluster } from '../kafka/cluster';
import { FAULTS, PRODUCE_TIMEOUT_MS, runFault, type FaultRun } from '../helpers/cluster-faults';
import { checkLedger, missingFrom, shown } from '../helpers/ledger';

/** How late past produce_timeout_ms an answer may come: spooling, three JVMs and the load on a 2-core machine. */
const ANSWER_SLACK_MS = 5000;

describe('eventgate against a replicated Kafka cluster under faults', function () {
  this.timeout(120000);
  const cluster = useCluster();

  for (const fault of FAULTS) {
    describe(`when ${fault.title}`, function () {
      let run: FaultRun | undefined;
      const result = (): FaultRun => {
        if (!run) throw new Error(`the ${fault.name} run failed in its before hook`);
        return run;
      };

      before(async function () {
        this.timeout(180000);
        const started = Date.now();
        run = await runFault(cluster(), fault);
        process.stderr.write(`${fault.name}: ${run.requests.length} requests, ${run.answers.size} events, ${Date.now() - started} ms\n`);
      });

      it('answers every request within produce_timeout_ms and a margin, with an answer the API documents', function () {
        const { requests, anomalies } = result();
        const slowest = Math.max(...requests.map((r) => r.done - r.sent));
        expect(slowest, 'the slowest request (ms)').to.be.at.most(PRODUCE_TIMEOUT_MS + ANSWER_SLACK_MS);
        expect(anomalies, 'answers outside the API').to.deep.equal([]);
        const unanswered = requests.filter((r) => r.status === undefined);
        // A worker killed with requests in flight takes their connections with it; nothing else may drop one.
        const allowed = fault.name === 'worker-kill' ? 4 : 0;
        expect(unanswered.length, `requests with no answer: ${unanswered.map((r) => r.error).join(', ')}`).to.be.at.most(allowed);
        expect(unanswered.every((r) => r.error !== 'TEST_TIMEOUT'), 'no request hangs').to.equal(true);
      });

      it('holds every event answered accepted in the topic exactly once, and no invalid event anywhere', function () {
        const { answers, topicBefore, spool } = result();
        const findings = checkLedger(answers, topicBefore, spool);
        expect([...answers.values()].filter((a) => a === 'accepted').length, 'events accepted').to.be.above(0);
        expect(findings.acceptedNotOnce, `accepted events not in the topic exactly once (${shown(findings.acceptedNotOnce)})`).to.deep.equal([]);
        expect(findings.invalidWritten, `invalid events written (${shown(findings.invalidWritten)})`).to.deep.equal([]);
      });

      it(`stops gracefully: exit code 0 after SIGTERM`, function () {
        expect(result().shutdown).to.deep.equal({ code: 0, signal: null });
      });

      if (fault.makes.errors) {
        it('answers some events error, and holds each in the topic or in the spool', function () {
          const { answers, topicBefore, spool } = result();
          expect([...answers.values()].filter((a) => a === 'error').length, 'events answered error').to.be.above(0);
          const findings = checkLedger(answers, topicBefore, spool);
          expect(findings.errorLost, `errored events in neither (${shown(findings.errorLost)})`).to.deep.equal([]);
        });
      } else {
        it('holds every event answered error (if any) in the topic or in the spool', function () {
          const { answers, topicBefore, spool } = result();
          const findings = checkLedger(answers, topicBefore, spool);
          expect(findings.errorLost, `errored events in neither (${shown(findings.errorLost)})`).to.deep.equal([]);
        });
      }

      if (fault.makes.spool) {
        it('spools events, none of which is also in the topic', function () {
          const { answers, topicBefore, spool } = result();
          expect(spool.length, 'events spooled').to.be.above(0);
          const findings = checkLedger(answers, topicBefore, spool);
          expect(findings.inBoth, `events both in the topic and in the spool (${shown(findings.inBoth)})`).to.deep.equal([]);
        });

        it('holds every validated event in the topic at least once after `eventgate replay` of the spool', function () {
          const { answers, topicBefore, topicAfter, replay, spool } = result();
          expect(replay, 'the replay report').to.deep.include({ code: 0, read: spool.length, produced: spool.length, failed: 0 });
          expect(topicAfter.length, 'messages after the replay').to.equal(topicBefore.length + spool.length);
          const missing = missingFrom(answers, topicAfter);
          expect(missing, `validated events not in the topic after the replay (${shown(missing)})`).to.deep.equal([]);
        });
      } else {
        it('spools nothing, and holds every validated event in the topic', function () {
          const { answers, topicBefore, spool } = result();
          expect(spool, 'spooled events').to.deep.equal([]);
          const missing = missingFrom(answers, topicBefore);
          expect(missing, `validated events not in the topic (${shown(missing)})`).to.deep.equal([]);
        });
      }
    });
  }
});
