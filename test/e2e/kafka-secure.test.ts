/**
 * eventgate, a real process, producing to the test broker's SSL and
 * SASL_SSL (SCRAM-SHA-512) listeners with the settings an operator writes,
 * secrets from `{env(...)}`; and refused by them (a wrong password, a CA
 * that did not sign the broker's certificate): a log line and /readyz name
 * the cause, and requests are answered 503 at once instead of waiting.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../helpers/http';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/service';
import { withTempDir } from '../helpers/tempdir';
import { until } from '../helpers/until';
import { consumeAll, kafkaSecurity, uniqueTopic } from '../helpers/kafka';
import { eventgate, expectDelivered, makeEvents, postEvents, type Child, type Sent } from '../helpers/kafka-service';
import { spooled } from '../helpers/spool';

const STREAM = 'test.event';
/** Far above what a refused request may take: an answer that waited for it would fail the test. */
const PRODUCE_TIMEOUT_MS = 30000;
/** How long a request refused for want of credentials may take at most. */
const REFUSED_WITHIN_MS = 10000;

interface Running {
  readonly child: Child;
  readonly port: number;
  readonly prefix: string;
  readonly spoolPath: string;
}

interface LogLine {
  readonly event?: string;
  readonly code?: string;
  readonly cause?: string;
  readonly detail?: string;
  readonly producer?: string;
  readonly fac?: string;
}

/** The JSON lines the process has logged so far. */
function logLines(child: Child): LogLine[] {
  return child
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/**
 * The Kafka part of the config file, as an operator writes it: the broker
 * list, CA and SASL settings come from the environment (`env` gives the
 * values) and never sit in the file.
 */
type KafkaYaml = { yaml: string; env: Record<string, string> };

function tlsConf(brokers: string, ca: string): KafkaYaml {
  return {
    yaml: ['metadata.broker.list: "{env(KAFKA_BROKERS)}"', 'security.protocol: ssl', 'ssl.ca.location: "{env(KAFKA_CA)}"'].join('\n'),
    env: { KAFKA_BROKERS: brokers, KAFKA_CA: ca },
  };
}

function saslConf(brokers: string, ca: string, username: string, password: string): KafkaYaml {
  return {
    yaml: [
      'metadata.broker.list: "{env(KAFKA_BROKERS)}"',
      'security.protocol: sasl_ssl',
      'ssl.ca.location: "{env(KAFKA_CA)}"',
      'sasl.mechanisms: SCRAM-SHA-512',
      'sasl.username: "{env(KAFKA_SASL_USERNAME)}"',
      'sasl.password: "{env(KAFKA_SASL_PASSWORD)}"',
    ].join('\n'),
    env: { KAFKA_BROKERS: brokers, KAFKA_CA: ca, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password },
  };
}

describe('Kafka over TLS and SASL/SCRAM', function () {
  this.timeout(60000);
  const tempDir = withTempDir('eventgate-e2e-secure-');
  let running: Running | undefined;

  afterEach(async function () {
    await running?.child.kill();
    running = undefined;
  });

  /** Runs `eventgate -c config.yaml` with `kafka` as its kafka.conf; resolves once it answers /readyz (ready or not). */
  async function start(kafka: KafkaYaml): Promise<Running> {
    const dir = tempDir();
    const port = await freePort();
    const prefix = `${uniqueTopic('secure')}.`;
    const spoolPath = join(dir, 'failed-events.ndjson');
    const config = join(dir, 'config.yaml');
    const indent = (text: string, n: number): string => text.replace(/^/gm, ' '.repeat(n));
    writeFileSync(
      config,
      [
        'num_workers: 0',
        // Not ten seconds before it listens when the producers cannot connect: the failing tests ask it why.
        'ready_timeout_ms: 500',
        'logging: {level: info}',
        'services:',
        '  - name: eventgate',
        '    conf:',
        '      port: {env(PORT)}',
        '      interface: 127.0.0.1',
        `      schema_base_uris: [${JSON.stringify(join(ROOT, 'schemas'))}]`,
        '      schema_file_extension: .yaml',
        `      topic_prefix: ${JSON.stringify(prefix)}`,
        `      failed_events_path: ${JSON.stringify(spoolPath)}`,
        '      kafka:',
        `        produce_timeout_ms: ${PRODUCE_TIMEOUT_MS}`,
        '        connect_timeout_ms: 5000',
        '        conf:',
        indent(kafka.yaml, 10),
        '',
      ].join('\n'),
    );
    const child = eventgate(['-c', config], { PORT: String(port), ...kafka.env });
    running = { child, port, prefix, spoolPath };
    await until(
      async () => {
        if (child.process.exitCode !== null) throw new Error(`eventgate exited ${child.process.exitCode}: ${child.stderr()}${child.stdout()}`);
        return (await call(port, { path: '/readyz' }).catch(() => undefined)) !== undefined;
      },
      20000,
      'eventgate answering /readyz',
    );
    return running;
  }

  async function expectReady(svc: Running): Promise<void> {
    await until(async () => (await call(svc.port, { path: '/readyz' })).status === 200, 20000, '/readyz 200');
  }

  /** POSTs `n` events in one request, expects 201, and expects a consumer to read exactly them back. */
  async function expectRoundTrip(svc: Running, n: number): Promise<void> {
    const events = makeEvents(STREAM, n);
    const from = Date.now();
    const reply = await postEvents(svc.port, events, 'secure-1');
    const to = Date.now();
    expect(reply.status, reply.text).to.equal(201);
    const sent: Sent[] = events.map((event) => ({ event, requestId: 'secure-1', from, to }));
    expectDelivered(await consumeAll(svc.prefix + STREAM, n), sent);
  }

  /**
   * While the brokers refuse the producers: /readyz is 503 naming the code
   * and `cause`; the log has one EG_ERR_KAFKA_AUTH line per producer, with
   * the cause, although librdkafka has failed again and again meanwhile; a
   * POST is answered 503 with Retry-After at once, each event with the code,
   * and spooled.
   */
  async function expectRefused(svc: Running, cause: 'sasl' | 'tls', detail: RegExp): Promise<void> {
    let reason = '';
    await until(
      async () => {
        const r = await call(svc.port, { path: '/readyz' });
        reason = (r.json as { reason?: string } | undefined)?.reason ?? '';
        return r.status === 503 && reason.includes('EG_ERR_KAFKA_AUTH');
      },
      20000,
      '/readyz naming EG_ERR_KAFKA_AUTH',
    );
    expect(reason).to.match(detail);

    const failures = (): LogLine[] => logLines(svc.child).filter((l) => l.fac === 'FAIL' && detail.test(l.detail ?? ''));
    // Both producers have retried: librdkafka reported the failure several times.
    await until(() => failures().length >= 6, 20000, 'librdkafka reporting the failure repeatedly');
    const coded = logLines(svc.child).filter((l) => l.code === 'EG_ERR_KAFKA_AUTH');
    expect(coded.map((l) => l.producer).sort(), 'one EG_ERR_KAFKA_AUTH line per producer, not one per retry').to.deep.equal(['guaranteed', 'hasty']);
    for (const line of coded) {
      expect(line.cause).to.equal(cause);
      expect(line.detail).to.match(detail);
      expect(line.event).to.equal('kafka.auth_failed');
    }

    const events = makeEvents(STREAM, 3);
    const started = Date.now();
    const reply = await postEvents(svc.port, events, 'refused-1', { ms: PRODUCE_TIMEOUT_MS });
    expect(Date.now() - started, 'answered at once, not after produce_timeout_ms').to.be.below(REFUSED_WITHIN_MS);
    expect(reply.status, reply.text).to.equal(503);
    expect(reply.headers['retry-after']).to.match(/^\d+$/);
    const items = (reply.json as { error: { context: { code: string; message: string } }[] }).error;
    expect(items).to.have.length(3);
    for (const item of items) {
      expect(item.context.code).to.equal('EG_ERR_KAFKA_AUTH');
      expect(item.context.message).to.match(detail);
    }
    await until(async () => (await spooled(svc.spoolPath)).length === 3, 5000, 'the refused events in the spool');
    const entries = await spooled(svc.spoolPath);
    expect(entries.map((e) => e.error.code)).to.deep.equal(['EG_ERR_KAFKA_AUTH', 'EG_ERR_KAFKA_AUTH', 'EG_ERR_KAFKA_AUTH']);
  }

  it('produces events over TLS (security.protocol ssl, ssl.ca.location) that a consumer reads back', async function () {
    const sec = kafkaSecurity();
    const svc = await start(tlsConf(sec.ssl, sec.caLocation));
    await expectReady(svc);
    await expectRoundTrip(svc, 5);
  });

  it('produces events over SASL_SSL with SCRAM-SHA-512, user and password from {env(...)}, that a consumer reads back', async function () {
    const sec = kafkaSecurity();
    const svc = await start(saslConf(sec.saslSsl, sec.caLocation, sec.username, sec.password));
    await expectReady(svc);
    await expectRoundTrip(svc, 5);
  });

  it('with a wrong SASL password: logs EG_ERR_KAFKA_AUTH once per producer, /readyz names the cause, and requests get 503 at once', async function () {
    const sec = kafkaSecurity();
    const svc = await start(saslConf(sec.saslSsl, sec.caLocation, sec.username, `${sec.password}-wrong`));
    await expectRefused(svc, 'sasl', /SASL authentication error: .*invalid credentials with SASL mechanism SCRAM-SHA-512/);
    // The password never reaches the log.
    expect(svc.child.stdout()).to.not.include(sec.password);
  });

  it("with a CA that did not sign the broker's certificate: logs EG_ERR_KAFKA_AUTH once per producer, /readyz names the cause, and requests get 503 at once", async function () {
    const sec = kafkaSecurity();
    const other = join(tempDir(), 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc', '-days', '1', '-subj', '/CN=not the broker CA', '-keyout', join(tempDir(), 'other-ca.key'), '-out', other], { stdio: 'ignore' });
    const svc = await start(tlsConf(sec.ssl, other));
    // librdkafka reports it in a short and a full form, either first; both name the failed verification.
    await expectRefused(svc, 'tls', /certificate verify failed/);
  });
});
