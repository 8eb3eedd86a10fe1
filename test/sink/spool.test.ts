import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf } from '../../lib/errors';
import type { OutboundEvent } from '../../lib/sink/sink';
import { FileSpool, formatSpoolLines, readSpool, type FailedEvent, type SpoolEntry } from '../../lib/sink/spool';
import { rejection } from '../helpers/rejection';

function failedEvent(i: number, overrides: Partial<OutboundEvent> = {}): FailedEvent {
  return {
    event: {
      stream: 'test.event',
      topic: 'eqiad.test.event',
      value: Buffer.from(`{"meta":{"stream":"test.event"},"i":${i},"n":1.50}`),
      key: Buffer.from(`{"k":${i}}`),
      timestamp: 1700000000000 + i,
      ...overrides,
    },
    error: { code: 'EG_ERR_KAFKA_TIMEOUT', message: `no delivery report ${i}` },
  };
}

async function readAll(path: string, onInvalidLine?: (line: number, text: string, reason: string) => void): Promise<SpoolEntry[]> {
  const entries: SpoolEntry[] = [];
  for await (const entry of readSpool(path, { onInvalidLine })) entries.push(entry);
  return entries;
}

describe('failed-events spool', function () {
  let dir: string;
  let path: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-spool-test-'));
    path = join(dir, 'failed.ndjson');
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes one JSON line per event with topic, stream, key, timestamp, error, the event and dt', function () {
    const now = new Date('2024-05-06T07:08:09.010Z');
    const text = formatSpoolLines([failedEvent(1), failedEvent(2, { key: null, timestamp: undefined })], now);
    const lines = text.split('\n');
    expect(lines).to.have.length(3);
    expect(lines[2]).to.equal('');
    expect(JSON.parse(lines[0])).to.deep.equal({
      topic: 'eqiad.test.event',
      stream: 'test.event',
      key: '{"k":1}',
      timestamp: 1700000000001,
      error: { code: 'EG_ERR_KAFKA_TIMEOUT', message: 'no delivery report 1' },
      event: { meta: { stream: 'test.event' }, i: 1, n: 1.5 },
      dt: '2024-05-06T07:08:09.010Z',
    });
    expect(JSON.parse(lines[1])).to.include({ key: null, timestamp: null });
  });

  it('keeps the event JSON byte for byte as it was serialized', function () {
    const text = formatSpoolLines([failedEvent(3)]);
    expect(text).to.contain(',"event":{"meta":{"stream":"test.event"},"i":3,"n":1.50},');
  });

  it('keeps each entry on one line when the serialized event spans lines', function () {
    const text = formatSpoolLines([failedEvent(4, { value: Buffer.from('{\n  "a": "x\\ny"\n}') })]);
    expect(text.split('\n')).to.have.length(2);
    expect((JSON.parse(text) as SpoolEntry).event).to.deep.equal({ a: 'x\ny' });
  });

  it('keeps an event that is not JSON as a string rather than writing a broken line', function () {
    const text = formatSpoolLines([failedEvent(5, { value: Buffer.from('{"cut') })]);
    expect((JSON.parse(text) as SpoolEntry).event).to.equal('{"cut');
  });

  it('reads back what it appended, in order, across appends', async function () {
    const spool = new FileSpool(path);
    await spool.append([failedEvent(0), failedEvent(1)]);
    await spool.append([]);
    await spool.append([failedEvent(2)]);
    await spool.close();
    const entries = await readAll(path);
    expect(entries.map((e) => (e.event as { i: number }).i)).to.deep.equal([0, 1, 2]);
    expect(entries[2]).to.deep.include({ topic: 'eqiad.test.event', stream: 'test.event', key: '{"k":2}', timestamp: 1700000000002 });
    expect(entries[2].error).to.deep.equal({ code: 'EG_ERR_KAFKA_TIMEOUT', message: 'no delivery report 2' });
    expect(Date.parse(entries[2].dt)).to.be.closeTo(Date.now(), 60000);
  });

  it('appends to a file that already holds entries, and creates missing folders', async function () {
    const nested = join(dir, 'a', 'b', 'failed.ndjson');
    const first = new FileSpool(nested);
    await first.append([failedEvent(0)]);
    await first.close();
    const second = new FileSpool(nested);
    await second.append([failedEvent(1)]);
    await second.close();
    expect((await readAll(nested)).map((e) => (e.event as { i: number }).i)).to.deep.equal([0, 1]);
  });

  it('keeps every line whole when many appends run at once', async function () {
    const spool = new FileSpool(path);
    await Promise.all(Array.from({ length: 50 }, (_, b) => spool.append(Array.from({ length: 20 }, (_, i) => failedEvent(b * 20 + i)))));
    await spool.close();
    const entries = await readAll(path);
    expect(entries.map((e) => (e.event as { i: number }).i)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('refuses appends after close with EG_ERR_SPOOL_WRITE, and closes idempotently', async function () {
    const spool = new FileSpool(path);
    await spool.append([failedEvent(0)]);
    await Promise.all([spool.close(), spool.close()]);
    expect(codeOf(await rejection(spool.append([failedEvent(1)])))).to.equal('EG_ERR_SPOOL_WRITE');
  });

  it('rejects with EG_ERR_SPOOL_WRITE when the file cannot be written, and recovers when it can', async function () {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where a folder should be');
    const spool = new FileSpool(join(blocker, 'failed.ndjson'));
    expect(codeOf(await rejection(spool.append([failedEvent(0)])))).to.equal('EG_ERR_SPOOL_WRITE');
    rmSync(blocker);
    await spool.append([failedEvent(1)]);
    await spool.close();
    expect(readFileSync(join(blocker, 'failed.ndjson'), 'utf8').split('\n')).to.have.length(2);
  });

  it('rejects a line that is not an entry with EG_ERR_SPOOL_READ naming the line', async function () {
    writeFileSync(path, formatSpoolLines([failedEvent(0)]) + '{"topic":"t","ev');
    const err = await rejection(readAll(path));
    expect(codeOf(err)).to.equal('EG_ERR_SPOOL_READ');
    expect((err as Error).message).to.contain(`${path}:2`);
  });

  it('skips lines that are not entries when told what to do with them, and blank lines always', async function () {
    writeFileSync(path, formatSpoolLines([failedEvent(0)]) + '\n[1]\n{"topic":"t"}\n' + formatSpoolLines([failedEvent(1)]));
    const invalid: [number, string][] = [];
    const entries = await readAll(path, (line, _text, reason) => invalid.push([line, reason]));
    expect(entries.map((e) => (e.event as { i: number }).i)).to.deep.equal([0, 1]);
    expect(invalid).to.deep.equal([
      [3, 'not a JSON object'],
      [4, 'no event'],
    ]);
  });

  it('rejects a missing file with EG_ERR_SPOOL_READ', async function () {
    expect(codeOf(await rejection(readAll(join(dir, 'nope.ndjson'))))).to.equal('EG_ERR_SPOOL_READ');
  });
});
