/**
 * Admission against a real server: bodies counted against the worker's
 * body memory before they are read, the small reserve, event-loop
 * shedding, and the connection cap (lib/http/admission.ts, pressure.ts,
 * connections.ts). The budget is set small by config, so that a few
 * hundred KB fill it.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

const KiB = 1024;
const event = (id: string, pad = 0) => ({ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id }, test: 'x'.repeat(pad) });
/** A batch body of about `bytes`, its events' ids starting with `tag`. */
function batch(tag: string, bytes: number): Buffer {
  const one = JSON.stringify(event(`${tag}-00000`, 900)).length + 1;
  return Buffer.from(JSON.stringify(Array.from({ length: Math.floor(bytes / one) }, (_, i) => event(`${tag}-${String(i).padStart(5, '0')}`, 900))));
}

/** A raw connection: the request's head now, its body when the test says. */
class Raw {
  readonly socket: Socket;
  private text = '';
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }

  async open(): Promise<this> {
    await once(this.socket, 'connect');
    return this;
  }

  head(headers: Record<string, string | number>, path = '/v1/events'): this {
    const lines = Object.entries({ host: 'localhost', 'content-type': 'application/json', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    this.socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
    return this;
  }

  /** Sends the head with Expect: 100-continue and resolves once the server admitted the body (its 100 came). */
  async admitted(headers: Record<string, string | number>): Promise<this> {
    this.head({ ...headers, expect: '100-continue' });
    await until(() => this.text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 5000, '100 Continue');
    this.text = this.text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length);
    return this;
  }

  /** The status and headers of the first final answer, once it came. */
  async answer(): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    await until(() => this.text.includes('\r\n\r\n'), 5000, 'an answer');
    const head = this.text.slice(0, this.text.indexOf('\r\n\r\n'));
    const [status, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    await until(() => this.text.split('\r\n\r\n', 2)[1].length >= Number(headers['content-length'] ?? 0), 5000, 'the answer body');
    return { status: Number(status.split(' ')[1]), headers, body: this.text.split('\r\n\r\n', 2)[1] };
  }
}

describe('admission against the body memory', () => {
  let svc: TestService;
  const raws: Raw[] = [];
  const raw = async (): Promise<Raw> => {
    const r = await new Raw(svc.port).open();
    raws.push(r);
    return r;
  };
  before(async () => {
    // Bodies of 1 KB or less are small; large ones may hold 1 MB - 100 KB at once.
    svc = await startTestService({ admission: { body_memory: '1mb', body_expansion: 1, small_body_size: '1kb', small_reserve: '100kb', retry_after_s: 3 } });
  });
  afterEach(() => {
    for (const r of raws.splice(0)) r.socket.destroy();
  });
  after(() => svc.close());
  const ids = () => svc.written().map((e) => (e as { meta: { id: string } }).meta.id);

  it('answers a declared body that does not fit now 503 with Retry-After before reading it, and takes it once the memory is free again', async () => {
    const first = batch('held', 600 * KiB);
    const holder = await (await raw()).admitted({ 'content-length': first.length });
    holder.socket.write(first.subarray(0, 1000));
    const second = batch('later', 600 * KiB);
    const refused = await (await raw()).head({ 'content-length': second.length }).answer();
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.equal('3');
    expect(JSON.parse(refused.body)).to.include({ code: 'EG_ERR_MEMORY_BUSY' });
    holder.socket.write(first.subarray(1000));
    expect((await holder.answer()).status).to.equal(201);
    const again = await call(svc.port, { path: '/v1/events', body: second });
    expect(again.status, again.text).to.equal(201);
    expect(ids().filter((id) => id.startsWith('later-'))).to.have.length((JSON.parse(second.toString()) as unknown[]).length);
  });

  it('closes the connection of a refused body once the answer is out, and reads none of it into an event', async () => {
    const first = batch('hold2', 600 * KiB);
    const holder = await (await raw()).admitted({ 'content-length': first.length });
    holder.socket.write(first.subarray(0, 1000));
    const r = (await raw()).head({ 'content-length': 600 * KiB });
    expect((await r.answer()).status).to.equal(503);
    // The client keeps sending: the connection still closes, without a request read from the body.
    r.socket.write(batch('never', 100 * KiB));
    await until(() => r.closed, 5000, 'the refused connection closed');
    holder.socket.write(first.subarray(1000));
    expect((await holder.answer()).status).to.equal(201);
    expect(ids().filter((id) => id.startsWith('never-'))).to.deep.equal([]);
  });

  it('answers a body that could never fit 413 EG_ERR_BODY_OVER_BUDGET unread', async () => {
    const r = await (await raw()).head({ 'content-length': 950 * KiB }).answer();
    expect(r.status).to.equal(413);
    expect(JSON.parse(r.body)).to.include({ code: 'EG_ERR_BODY_OVER_BUDGET' });
  });

  it('answers a body declared over max_body_size 413 EG_ERR_BODY_TOO_LARGE, as without a budget, not for memory', async () => {
    const r = await (await raw()).head({ 'content-length': 11 * 1024 * KiB }).answer();
    expect(r.status).to.equal(413);
    expect(JSON.parse(r.body)).to.include({ code: 'EG_ERR_BODY_TOO_LARGE' });
  });

  it('counts a gzip body as it inflates and refuses it with 503 when it outgrows the free memory; nothing of it is written', async () => {
    const first = batch('hold3', 600 * KiB);
    const holder = await (await raw()).admitted({ 'content-length': first.length });
    holder.socket.write(first.subarray(0, 1000));
    const zipped = gzipSync(batch('zipped', 600 * KiB));
    const r = await call(svc.port, { path: '/v1/events', body: zipped, headers: { 'content-encoding': 'gzip' }, fresh: true });
    expect(r.status, r.text).to.equal(503);
    expect(r.headers['retry-after']).to.equal('3');
    holder.socket.write(first.subarray(1000));
    expect((await holder.answer()).status).to.equal(201);
    expect(ids().filter((id) => id.startsWith('zipped-'))).to.deep.equal([]);
    expect(svc.metrics.counter('admission.refused', { reason: 'memory' })).to.be.at.least(3);
  });

  it('keeps the small reserve for small bodies: a single event is taken while large bodies hold all they may', async () => {
    const first = batch('hold4', 900 * KiB);
    const holder = await (await raw()).admitted({ 'content-length': first.length });
    holder.socket.write(first.subarray(0, 1000));
    const large = await (await raw()).head({ 'content-length': 50 * KiB }).answer();
    expect(large.status).to.equal(503);
    const single = await call(svc.port, { path: '/v1/events', body: event('small-1') });
    expect(single.status, single.text).to.equal(201);
    holder.socket.write(first.subarray(1000));
    expect((await holder.answer()).status).to.equal(201);
    expect(ids()).to.include('small-1');
  });
});

describe('shedding while the event loop lags', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ admission: { max_event_loop_delay_ms: 100 } });
  });
  after(() => svc.close());

  /** Sends `path`'s request, then blocks this process's event loop (the server's too) for `ms`. */
  async function sendThenBlock(path: string, method: string, ms: number): Promise<Raw> {
    const r = await new Raw(svc.port).open();
    const body = JSON.stringify(event('shed-1'));
    r.socket.write(`${method} ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${method === 'POST' ? body.length : 0}\r\n\r\n${method === 'POST' ? body : ''}`);
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // Busy: the loop does not turn.
    }
    return r;
  }

  it('answers new events 503 EG_ERR_EVENT_LOOP_BUSY with Retry-After right after a lag past the threshold, and /healthz and /readyz 200', async () => {
    const events = await sendThenBlock('/v1/events', 'POST', 400);
    const shed = await events.answer();
    expect(shed.status).to.equal(503);
    expect(shed.headers['retry-after']).to.equal('2');
    expect(JSON.parse(shed.body)).to.include({ code: 'EG_ERR_EVENT_LOOP_BUSY' });
    for (const path of ['/healthz', '/readyz']) {
      const probe = await sendThenBlock(path, 'GET', 400);
      expect((await probe.answer()).status, path).to.equal(200);
      probe.socket.destroy();
    }
    events.socket.destroy();
    // Once the loop turns freely again, events are taken.
    await until(async () => (await call(svc.port, { path: '/v1/events', body: event('shed-2') })).status === 201, 5000, 'events taken again');
    expect(svc.metrics.counter('admission.refused', { reason: 'event_loop' })).to.be.at.least(1);
  });
});

describe('the connection cap', () => {
  let svc: TestService;
  const raws: Raw[] = [];
  before(async () => {
    svc = await startTestService({ admission: { max_connections: 2 } });
  });
  afterEach(() => {
    for (const r of raws.splice(0)) r.socket.destroy();
  });
  after(() => svc.close());
  const open = async () => {
    const r = await new Raw(svc.port).open();
    raws.push(r);
    return r;
  };

  it('closes the connection idle longest to make room for a new one', async () => {
    const idle = await open();
    idle.head({ 'content-length': 2 }).socket.write('{}');
    await idle.answer();
    const busy = await (await open()).admitted({ 'content-length': 100 });
    const third = await open();
    await until(() => idle.closed, 5000, 'the idle connection closed');
    const body = JSON.stringify(event('cap-1'));
    third.head({ 'content-length': body.length }).socket.write(body);
    expect((await third.answer()).status).to.equal(201);
    expect(busy.closed).to.equal(false);
  });

  it('answers a new connection 503 with Retry-After and closes it when no connection is idle', async () => {
    const a = await (await open()).admitted({ 'content-length': 100 });
    const b = await (await open()).admitted({ 'content-length': 100 });
    const refused = await open();
    const answer = await refused.answer();
    expect(answer.status).to.equal(503);
    expect(answer.headers['retry-after']).to.equal('2');
    expect(JSON.parse(answer.body)).to.include({ code: 'EG_ERR_TOO_MANY_CONNECTIONS' });
    await until(() => refused.closed, 5000, 'the refused connection closed');
    expect(svc.metrics.counter('admission.refused', { reason: 'connections' })).to.equal(1);
    expect([a.closed, b.closed]).to.deep.equal([false, false]);
  });
});
