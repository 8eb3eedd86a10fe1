import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
