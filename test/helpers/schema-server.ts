import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve } from 'node:path';
import { ROOT } from '../helpers/paths';
import { codedRejection } from '../helpers/rejection';
import { EventGateError, type ErrorCode } from '../../lib/errors';
import type { SchemaRepositoryOptions } from '../../lib/schema';

export { ROOT };
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'schemas');
export const BUNDLED = join(ROOT, 'schemas');
export const WMF = resolve(ROOT, 'test', 'fixtures', 'wmf-schemas');

export function repoOptions(overrides: Partial<SchemaRepositoryOptions> = {}): SchemaRepositoryOptions {
  return {
    baseUris: [FIXTURES],
    configDir: ROOT,
    fileExtension: '.yaml',
    allowAbsoluteUris: false,
    allowInsecure: false,
    negativeCacheTtlMs: 60_000,
    fetchTimeoutMs: 2000,
    limits: { maxConcurrentFetches: 8, maxNewPerRequest: 50, maxSchemas: 1000, maxFailures: 10_000 },
    ...overrides,
  };
}

/** Resolves with the EventGateError `p` rejects with; fails if it fulfills or rejects with anything else. */
export const rejection = codedRejection;

/** Calls `fn` and returns the EventGateError it throws, checking its code. */
export function thrown(fn: () => unknown, code: ErrorCode): EventGateError {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof EventGateError)) throw err;
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface SchemaServer {
  /** Base URI, with a trailing slash. */
  readonly base: string;
  readonly port: number;
  /** Requests received per path. */
  count(path: string): number;
  total(): number;
  /** Answers requests first (return true when it did); files are served otherwise. */
  handle(h: Handler | undefined): void;
  close(): Promise<void>;
}

/** A real HTTP server on port 0 serving the files under `dir`, counting requests. */
export async function startSchemaServer(dir: string): Promise<SchemaServer> {
  const counts = new Map<string, number>();
  let handler: Handler | undefined;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    void (async () => {
      if (handler && (await handler(req, res))) return;
      const file = normalize(join(dir, path));
      try {
        if (!file.startsWith(dir)) throw new Error('outside');
        res.end(await readFile(file));
      } catch {
        res.statusCode = 404;
        res.end('not found');
      }
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    port,
    count: (path) => counts.get(path) ?? 0,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    handle: (h) => {
      handler = h;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

