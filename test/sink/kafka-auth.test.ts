/**
 * Reading a broker's refusal out of librdkafka's texts (lib/sink/kafka/auth.ts).
 * The texts are librdkafka 2.12's, as node-rdkafka handed them to the
 * producer against the test broker (test/e2e/kafka-secure.test.ts runs the
 * real thing).
 */
import { expect } from 'chai';
import bunyan from 'bunyan';
import type * as Kafka from 'node-rdkafka';
import { authFailureOf, AuthWatch } from '../../lib/sink/kafka/auth';
import { errorKind } from '../../lib/sink/kafka/observe';

const SASL_FAIL =
  '[thrd:sasl_ssl://127.0.0.1:45115/bootstrap]: sasl_ssl://127.0.0.1:45115/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 313ms in state AUTH_REQ)';
const SASL_FAIL_AGAIN =
  '[thrd:sasl_ssl://127.0.0.1:45115/bootstrap]: sasl_ssl://127.0.0.1:45115/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 312ms in state AUTH_REQ, 1 identical error(s) suppressed)';
const TLS_FAIL =
  '[thrd:ssl://127.0.0.1:38409/bootstrap]: ssl://127.0.0.1:38409/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 5ms in state SSL_HANDSHAKE)';
const TLS_FAIL_SHORT = '[thrd:ssl://127.0.0.1:38409/bootstrap]: ssl://127.0.0.1:38409/bootstrap: error:0A000086:SSL routines::certificate verify failed (after 2ms in state SSL_HANDSHAKE)';

interface Line {
  readonly event?: string;
  readonly code?: string;
  readonly cause?: string;
  readonly broker?: string;
  readonly detail?: string;
}

function recorder(): { log: bunyan; lines: () => Line[] } {
  const ring = new bunyan.RingBuffer({ limit: 100 });
  const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'trace' }] });
  return { log, lines: () => ring.records as Line[] };
}

describe('Kafka brokers refusing a producer', function () {
  it('reads a failed SASL authentication, and the broker, out of a librdkafka log line, without its thread prefix and timing', function () {
    expect(authFailureOf(SASL_FAIL)).to.deep.equal({
      cause: 'sasl',
      broker: 'sasl_ssl://127.0.0.1:45115/bootstrap',
      detail: 'sasl_ssl://127.0.0.1:45115/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    });
    expect(authFailureOf(SASL_FAIL_AGAIN)?.detail, 'a repeat reads the same').to.equal(authFailureOf(SASL_FAIL)?.detail);
  });

  it('reads a failed TLS handshake in both of the forms librdkafka reports it in', function () {
    expect(authFailureOf(TLS_FAIL)).to.include({ cause: 'tls', broker: 'ssl://127.0.0.1:38409/bootstrap' });
    expect(authFailureOf(TLS_FAIL)?.detail).to.match(/certificate verify failed: broker certificate could not be verified, verify that ssl\.ca\.location/);
    expect(authFailureOf(TLS_FAIL_SHORT)).to.include({ cause: 'tls', broker: 'ssl://127.0.0.1:38409/bootstrap' });
  });

  it('ignores what is no refusal: a broker that is down, a connection refused, a timed-out request', function () {
    for (const text of [
      '[thrd:sasl_ssl://127.0.0.1:45115/bootstrap]: sasl_ssl://127.0.0.1:45115/bootstrap: Connect to ipv4#127.0.0.1:45115 failed: Connection refused (after 0ms in state CONNECT)',
      '1/1 brokers are down',
      'broker transport failure',
      'Local: Message timed out',
    ]) {
      expect(authFailureOf(text), text).to.equal(undefined);
    }
  });

  it('logs EG_ERR_KAFKA_AUTH once per broker and cause however often librdkafka repeats it, and again after a connection was up', function () {
    const { log, lines } = recorder();
    const watch = new AuthWatch(log);
    for (let i = 0; i < 5; i++) {
      watch.see(SASL_FAIL);
      watch.see(SASL_FAIL_AGAIN);
      watch.see('some other librdkafka log line');
    }
    expect(lines().map((l) => [l.code, l.cause, l.broker])).to.deep.equal([['EG_ERR_KAFKA_AUTH', 'sasl', 'sasl_ssl://127.0.0.1:45115/bootstrap']]);
    expect(lines()[0].detail).to.match(/invalid credentials with SASL mechanism SCRAM-SHA-512$/);
    expect(watch.failure?.cause).to.equal('sasl');

    watch.clear();
    expect(watch.failure, 'cleared once a connection is up').to.equal(undefined);
    expect(lines().pop()?.event).to.equal('kafka.auth_ok');
    watch.see(SASL_FAIL);
    expect(lines().filter((l) => l.code === 'EG_ERR_KAFKA_AUTH')).to.have.length(2);
  });

  it('keeps the fuller text of a TLS failure as the reason whichever of its two forms librdkafka reports first', function () {
    for (const order of [[TLS_FAIL_SHORT, TLS_FAIL, TLS_FAIL_SHORT], [TLS_FAIL, TLS_FAIL_SHORT, TLS_FAIL]]) {
      const { log, lines } = recorder();
      const watch = new AuthWatch(log);
      for (const text of order) watch.see(text);
      expect(lines().filter((l) => l.code === 'EG_ERR_KAFKA_AUTH')).to.have.length(1);
      expect(watch.failure?.detail).to.match(/verify that ssl\.ca\.location is correctly configured/);
    }
  });

  it('keeps the fuller text when it comes first too', function () {
    const { log, lines } = recorder();
    const watch = new AuthWatch(log);
    watch.see(TLS_FAIL);
    watch.see(TLS_FAIL_SHORT);
    watch.see(TLS_FAIL);
    expect(lines().filter((l) => l.code === 'EG_ERR_KAFKA_AUTH')).to.have.length(1);
    expect(watch.failure?.detail).to.match(/verify that ssl\.ca\.location is correctly configured/);
  });

  it('classifies error events of a refusal as kind auth, by code or by text', function () {
    const error = (e: Partial<Kafka.LibrdKafkaError>): Kafka.LibrdKafkaError => ({ message: '', code: -1, errno: -1, origin: 'local', ...e });
    expect(errorKind(error({ message: SASL_FAIL }))).to.equal('auth');
    expect(errorKind(error({ code: -169, message: 'Local: Authentication failure' }))).to.equal('auth');
    expect(errorKind(error({ code: -181, message: 'ssl error' }))).to.equal('auth');
    expect(errorKind(error({ message: 'all broker connections are down' }))).to.equal('all_brokers_down');
  });
});
