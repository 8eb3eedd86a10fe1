/**
 * A keep-alive load generator: `connections` loops, each firing one event
 * after another over a shared keep-alive agent (as wrk or a busy client pool
 * does), recording every outcome and whether it went over a connection that
 * had carried a request before.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { testEvent } from '../helpers/eventgate-process';

export interface KeepAliveResult {
  readonly id: string;
  readonly status?: number;
  /** The error code (ECONNRESET, ECONNREFUSED, ...) of a request that got no answer. */
  readonly error?: string;
  /** Sent on a connection that had carried an earlier request (an idle keep-alive connection, reused). */
  readonly reused: boolean;
  readonly servedBy?: string;
  readonly connection?: string;
  /** When the request was sent, ms since the epoch. */
  readonly sentAt: number;
}

const REQUEST_TIMEOUT_MS = 10000;

export class KeepAliveLoad {
  readonly results: KeepAliveResult[] = [];
  private running = true;
  private readonly agent: Agent;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly port: number,
    connections = 8,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
    this.loops = Array.from({ length: connections }, () => this.loop());
  }

  private once(): Promise<KeepAliveResult> {
    const id = randomUUID();
    const body = JSON.stringify(testEvent(id));
    const sentAt = Date.now();
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: '/v1/events',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', () =>
            resolve({
              id,
              status: res.statusCode,
              reused: req.reusedSocket,
              servedBy: res.headers['x-served-by'] as string | undefined,
              connection: res.headers.connection,
              sentAt,
            }),
          );
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('unanswered'), { code: 'TEST_TIMEOUT' })));
      req.once('error', (err: NodeJS.ErrnoException) => resolve({ id, error: err.code ?? err.message, reused: req.reusedSocket, sentAt }));
      req.end(body);
    });
  }

  private async loop(): Promise<void> {
    while (this.running) this.results.push(await this.once());
  }

  /** Stops sending; resolves when the requests in flight are answered and the agent's connections are closed. */
  async stop(): Promise<KeepAliveResult[]> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
    return this.results;
  }

  /** Answers that are not 2xx, and requests that got no answer. */
  failures(): KeepAliveResult[] {
    return this.results.filter((r) => r.error !== undefined || r.status === undefined || r.status < 200 || r.status > 299);
  }
}
