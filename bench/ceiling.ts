/**
 * The ceiling: a bare node:http server that reads the body, JSON.parses it
 * and answers 201 with no body. Nothing can serve the same requests on
 * node:http faster, so eventgate's throughput is reported as a share of it.
 * Run as its own process: `node dist/bench/ceiling.js PORT [HOST]`; it
 * answers GET /readyz with 200 so that the runner can wait for it.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const host = process.argv[3] ?? '127.0.0.1';

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.on('end', () => {
    let status = 201;
    try {
      JSON.parse((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)).toString('utf8'));
    } catch {
      status = 400;
    }
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, host);
process.on('SIGTERM', () => process.exit(0));
