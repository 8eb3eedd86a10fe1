import { expect } from 'chai';
import fs, { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packOutbound, unpackOutbound } from '../../lib/batch/pack';
import { FileSink } from '../../lib/sink/file';
import type { OutboundEvent } from '../../lib/sink/sink';

function event(i: number, value: string | Buffer, key: Buffer | null = null): OutboundEvent {
  return { stream: 'test.event', topic: 'test.event', value, key, timestamp: 1700000000000 + i };
}

/** Values as a pool thread hands them back: views into one transferred buffer. */
function pooled(texts: readonly string[], withKeys: boolean): OutboundEvent[] {
  const outbound = texts.map((t, i) => event(i, t, withKeys ? Buffer.from(`k${i}`) : null));
  return unpackOutbound(packOutbound({ outbound, outboundIndex: texts.map((_, i) => i) }));
}

describe('file sink', () => {
  let dir: string;
  let path: string;
  let sink: FileSink | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-file-sink-'));
    path = join(dir, 'out', 'events.ndjson');
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = () => readFileSync(path, 'utf8').split('\n').slice(0, -1);

  it('appends text values as NDJSON, one line per event, and says each is produced once written', async () => {
    sink = new FileSink(path);
    const texts = ['{"a":1}', '{"b":"é ✓"}', '{"c":[1,2]}'];
    const outcomes = await sink.produce(texts.map((t, i) => event(i, t)));
    expect(outcomes).to.deep.equal(texts.map(() => ({ ok: true })));
    expect(lines()).to.deep.equal(texts);
  });

  it('writes values packed by a pool thread (views with newlines between them) byte for byte, keys left out', async () => {
    sink = new FileSink(path);
    const texts = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, s: 'ü'.repeat(i % 7) }));
    const events = pooled(texts, true);
    // The layout the sink writes in one piece: every value in the same buffer.
    expect(new Set(events.map((e) => (e.value as Buffer).buffer)).size).to.equal(1);
    await sink.produce(events);
    await sink.produce(pooled(['{"after":true}'], false));
    expect(lines()).to.deep.equal([...texts, '{"after":true}']);
  });

  it('writes a selection of packed values (the invalid events left out) and separate Buffers correctly too', async () => {
    sink = new FileSink(path);
    const texts = ['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}'];
    const events = pooled(texts, false);
    await sink.produce([events[0], events[2], events[3]]);
    await sink.produce([event(9, Buffer.from('{"own":1}')), event(10, Buffer.from('{"own":2}'))]);
    expect(lines()).to.deep.equal(['{"n":0}', '{"n":2}', '{"n":3}', '{"own":1}', '{"own":2}']);
  });

  it('keeps the order of requests that write one after another', async () => {
    sink = new FileSink(path);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => sink!.produce([event(i, `{"r":${i}}`)])));
    expect(all.every((o) => o[0].ok)).to.equal(true);
    expect(lines()).to.deep.equal(Array.from({ length: 50 }, (_, i) => `{"r":${i}}`));
  });

  it('writes the calls of one event-loop turn with one write, in call order, each answered only once written', async () => {
    sink = new FileSink(path);
    let writes = 0;
    const real = fs.writeSync;
    // A spy that counts, around the real write: the file is still written by it.
    (fs as { writeSync: unknown }).writeSync = (...args: Parameters<typeof fs.writeSync>) => {
      writes++;
      return real(...args);
    };
    try {
      const calls = Array.from({ length: 20 }, (_, i) => sink!.produce([event(i, `{"r":${i}}`), event(i, `{"r":${i},"second":true}`)]));
      // Nothing is written before the end of the turn.
      expect(existsSync(path) ? readFileSync(path, 'utf8') : '').to.equal('');
      const first = await calls[0];
      expect(first).to.deep.equal([{ ok: true }, { ok: true }]);
      expect(lines()).to.have.length(40);
      await Promise.all(calls);
      expect(writes).to.equal(1);
      expect(lines()).to.deep.equal(Array.from({ length: 20 }, (_, i) => [`{"r":${i}}`, `{"r":${i},"second":true}`]).flat());
      // A later turn gets a write of its own.
      await sink.produce([event(99, '{"later":true}')]);
      expect(writes).to.equal(2);
    } finally {
      (fs as { writeSync: unknown }).writeSync = real;
    }
  });

  it('writes text and pooled buffers of the same turn in call order', async () => {
    sink = new FileSink(path);
    const calls = [
      sink.produce([event(0, '{"t":0}')]),
      sink.produce(pooled(['{"p":1}', '{"p":2}'], false)),
      sink.produce([event(3, '{"t":3}'), event(4, Buffer.from('{"b":4}'))]),
      sink.produce([event(5, '{"t":5}')]),
    ];
    const outcomes = await Promise.all(calls);
    expect(outcomes.flat().every((o) => o.ok)).to.equal(true);
    expect(lines()).to.deep.equal(['{"t":0}', '{"p":1}', '{"p":2}', '{"t":3}', '{"b":4}', '{"t":5}']);
  });

  it('writes the calls it took before close, and refuses those after it', async () => {
    sink = new FileSink(path);
    const before = sink.produce([event(0, '{"before":true}')]);
    const closed = sink.close();
    const after = sink.produce([event(1, '{"after":true}')]);
    await closed;
    expect((await before)[0]).to.deep.equal({ ok: true });
    expect((await after)[0]).to.deep.include({ ok: false, code: 'EG_ERR_SINK_WRITE' });
    expect(lines()).to.deep.equal(['{"before":true}']);
  });

  it('fails every call of a turn whose write fails (/dev/full), each event with EG_ERR_SINK_WRITE', async () => {
    sink = new FileSink('/dev/full');
    const outcomes = await Promise.all([sink.produce([event(0, '{"a":1}')]), sink.produce([event(1, '{"b":2}'), event(2, '{"c":3}')])]);
    expect(outcomes.map((o) => o.length)).to.deep.equal([1, 2]);
    for (const o of outcomes.flat()) expect(o).to.deep.include({ ok: false, code: 'EG_ERR_SINK_WRITE' });
  });

  it('fails every event of a write that fails (a full disk: /dev/full) with EG_ERR_SINK_WRITE, and is not ready after', async () => {
    sink = new FileSink('/dev/full');
    const outcomes = await sink.produce([event(0, '{"a":1}'), event(1, '{"b":2}')]);
    expect(outcomes).to.have.length(2);
    for (const o of outcomes) expect(o).to.deep.include({ ok: false, code: 'EG_ERR_SINK_WRITE' });
    expect(sink.notReadyReason()).to.match(/^file sink failed: .*ENOSPC/);
    const later = await sink.produce([event(2, '{"c":3}')]);
    expect(later[0]).to.deep.include({ ok: false, code: 'EG_ERR_SINK_WRITE' });
  });

  it('refuses events after close rather than dropping them silently', async () => {
    sink = new FileSink(path);
    await sink.close();
    const outcomes = await sink.produce([event(0, '{"a":1}')]);
    expect(outcomes[0]).to.deep.include({ ok: false, code: 'EG_ERR_SINK_WRITE' });
    expect(outcomes[0].ok === false && outcomes[0].message).to.match(/closed/);
  });
});
