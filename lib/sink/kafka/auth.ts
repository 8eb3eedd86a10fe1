/**
 * Brokers refusing a producer: a failed SASL authentication (wrong user or
 * password, a mechanism the broker does not enable) or a failed TLS handshake
 * (a certificate the CA in ssl.ca.location did not sign), read from
 * librdkafka's own texts.
 *
 * Such a producer never connects, and nothing else says why: librdkafka
 * retries quietly, node-rdkafka's connect fails with a bare "broker transport
 * failure", and the ERR__AUTHENTICATION / ERR__SSL error event reaches JS only
 * through poll(), which runs once a producer is connected. librdkafka's log
 * lines (facility FAIL, severity 3) arrive meanwhile and name the cause.
 */
import type { LogEvent } from '../../log-events';
import type { ErrorCode } from '../../errors';
import type { Logger } from '../../log';

export type AuthCause = 'sasl' | 'tls';

export interface AuthFailure {
  readonly cause: AuthCause;
  /** The broker as librdkafka names it ("sasl_ssl://host:9093/1"), when the text does. */
  readonly broker?: string;
  /** librdkafka's text without its thread prefix and timing suffix: the broker, and what failed. */
  readonly detail: string;
}

// librdkafka 2.x (rdkafka_sasl*.c, rdkafka_ssl.c, err2str of ERR__AUTHENTICATION and ERR__SSL).
const SASL = /SASL authentication error|SASL SCRAM|SASL handshake failed|Local: Authentication failure|SASL mechanism \S+ not supported/i;
const TLS = /SSL handshake failed|certificate verify failed|Local: SSL error/i;
// A log line's "[thrd:sasl_ssl://127.0.0.1:9093/bootstrap]: " repeats the broker named after it.
const THREAD = /^\[thrd:[^\]]*\]:\s*/;
// "(after 312ms in state AUTH_REQ, 1 identical error(s) suppressed)": differs between repeats of one failure.
const TIMING = /\s*\(after \d+ms in state [A-Z_]+(?:, \d+ identical error\(s\) suppressed)?\)\s*$/;
const BROKER = /^([a-z_]+:\/\/\S+?\/\w+): /;
const CODE: ErrorCode = 'EG_ERR_KAFKA_AUTH';

/** The failure a librdkafka log line or error message reports, if it is one of these. */
export function authFailureOf(text: string): AuthFailure | undefined {
  const cause: AuthCause | undefined = SASL.test(text) ? 'sasl' : TLS.test(text) ? 'tls' : undefined;
  if (!cause) return undefined;
  const detail = text.replace(THREAD, '').replace(TIMING, '');
  return { cause, broker: BROKER.exec(detail)?.[1], detail };
}

/**
 * The refusal one producer saw, until a broker connection is up again. Logs
 * EG_ERR_KAFKA_AUTH at error level once per broker and cause, not at every
 * retry; and keeps the fuller text of each as the reason (a TLS failure is
 * reported in two forms by turns, in either order; the fuller one hints at
 * ssl.ca.location).
 */
export class AuthWatch {
  private current: AuthFailure | undefined;
  /** cause and broker of each refusal logged since the last clear(). */
  private readonly logged = new Set<string>();

  constructor(private readonly log: Logger) {}

  get failure(): AuthFailure | undefined {
    return this.current;
  }

  /** Reads one librdkafka text: a log line's message or an error event's. */
  see(text: string): void {
    const failure = authFailureOf(text);
    if (!failure) return;
    const key = `${failure.cause} ${failure.broker ?? ''}`;
    // A text that names no broker ("Local: SSL error") restates a failure a
    // broker's own line already reported in full.
    if (this.logged.has(key) || (failure.broker === undefined && [...this.logged].some((k) => k.startsWith(`${failure.cause} `)))) {
      // librdkafka alternates a short and a full text of one TLS failure, in either order: the reason is the fuller.
      const now = this.current;
      if (now && now.cause === failure.cause && now.broker === failure.broker && failure.detail.length > now.detail.length) this.current = failure;
      return;
    }
    this.logged.add(key);
    if (this.current === undefined || (this.current.broker === undefined && failure.broker !== undefined)) this.current = failure;
    const { cause, broker, detail } = failure;
    this.log.error({ event: 'kafka.auth_failed' satisfies LogEvent, code: CODE, cause, broker, detail }, 'kafka broker refused the producer: authentication or TLS failed');
  }

  /** A broker connection is up: whatever failed works now. */
  clear(): void {
    if (!this.current) return;
    this.current = undefined;
    this.logged.clear();
    this.log.info({ event: 'kafka.auth_ok' satisfies LogEvent }, 'kafka authentication succeeded');
  }
}
