import bunyan from 'bunyan';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from '../../lib/log';

/** test/fixtures/streams, from dist/test/stream. */
export const STREAM_FIXTURES = resolve(__dirname, '../../../test/fixtures/streams');

/** What the config server answers: a status and a body (JSON-encoded unless a string), or nothing (hang). */
export type Answer = { status?: number; body: unknown } | 'hang';

export interface ConfigServer {
  readonly url: string;
  /** Headers of each request received, in order. */
  readonly requests: IncomingHttpHeaders[];
  /** Changes what the next requests get. */
  answer: Answer;
  close(): Promise<void>;
}

/** A real HTTP server on port 0 serving a stream config. */
export async function configServer(answer: Answer): Promise<ConfigServer> {
  const hanging: ServerResponse[] = [];
  const state = {
    answer,
    requests: [] as IncomingHttpHeaders[],
  };
  const server: Server = createServer((req, res) => {
    state.requests.push(req.headers);
    const a = state.answer;
    if (a === 'hang') {
      hanging.push(res);
      return;
    }
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
    res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/w/api.php?action=streamconfigs&format=json`,
    get requests() {
      return state.requests;
    },
    get answer() {
      return state.answer;
    },
    set answer(a: Answer) {
      state.answer = a;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

export interface LogRecord {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A logger that keeps its records, for asserting on what was logged. */
export function recordingLogger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = bunyan.createLogger({
    name: 'test',
    streams: [{ type: 'raw', level: 'trace', stream: { write: (rec: object) => records.push(rec as LogRecord) } }],
  });
  return { log, records };
}
