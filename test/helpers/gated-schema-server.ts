import type { ServerResponse } from 'node:http';
import { startSchemaServer, type SchemaServer } from '../helpers/schema-server';

/**
 * A real HTTP schema repository whose answers the test lets out: requests
 * are held until released (or the gate is opened), so a test sees exactly
 * how many fetches are in flight, without timing. Paths under `/gen/` are
 * schemas made up on the spot (`{"type": "object", "title": <path> <version>}`);
 * anything else is 404.
 */
export interface GatedServer {
  readonly base: string;
  /** Requests received, per path and in all. */
  readonly server: SchemaServer;
  /** Paths in the order their requests arrived. */
  readonly arrived: string[];
  /** Requests received and not yet finished (held, or closed by the client). */
  inFlight(): number;
  maxInFlight(): number;
  /** Answers the oldest held request; false when none is held. */
  releaseOne(): boolean;
  /** Answers every held request, and every later one at once. */
  open(): void;
  /** Holds later requests again. */
  shut(): void;
  /** Answers every request, each `ms` after it came: a slow repository. */
  slow(ms: number): void;
  /** Generated schemas get this in their title: changing it changes their content. */
  version: number;
  close(): Promise<void>;
}

export async function startGatedServer(): Promise<GatedServer> {
  const server = await startSchemaServer('/nonexistent');
  const held: { res: ServerResponse; path: string }[] = [];
  const arrived: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let open = false;
  let delayMs = 0;
  const gated: GatedServer = {
    base: server.base,
    server,
    arrived,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    releaseOne: () => {
      const next = held.shift();
      if (next) answer(next.res, next.path);
      return next !== undefined;
    },
    open: () => {
      open = true;
      while (gated.releaseOne());
    },
    shut: () => {
      open = false;
    },
    slow: (ms) => {
      delayMs = ms;
      gated.open();
    },
    version: 1,
    close: () => server.close(),
  };
  const answer = (res: ServerResponse, path: string): void => {
    if (res.destroyed) return;
    if (path.startsWith('/gen/')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', title: `${path} ${gated.version}` }));
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  };
  server.handle((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    arrived.push(path);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    if (open && delayMs > 0) setTimeout(() => answer(res, path), delayMs);
    else if (open) answer(res, path);
    else held.push({ res, path });
    return true;
  });
  return gated;
}
