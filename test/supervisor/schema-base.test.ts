import { expect } from 'chai';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Eventgate, send, testEvent, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

describe('a schema base folder that does not exist', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  withTempConfig((c) => (cfg = c));

  it('is warned about at start with the folder it resolved to, and a refused event\'s log line names the locations tried', async () => {
    // Relative to the config file's folder, as a copied config's `./schemas` is.
    cfg.write({ num_workers: 0 }, { schema_base_uris: ['./schemas'] });
    const eg = new Eventgate(cfg.path);
    await eg.waitFor((l) => l.event === 'service.listening');
    const warned = eg.lines.filter((l) => l.code === 'EG_ERR_SCHEMA_BASE_MISSING');
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include({ level: 40, base: './schemas', dir: join(cfg.dir, 'schemas') });

    const answer = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(answer.status).to.equal(400);
    const item = (JSON.parse(answer.body) as { invalid: { context: { code: string } }[] }).invalid[0];
    expect(item.context.code).to.equal('EG_ERR_SCHEMA_NOT_FOUND');
    const refused = await eg.waitFor((l) => l.code === 'EG_ERR_SCHEMA_NOT_FOUND' && Array.isArray(l.tried));
    expect(refused.level).to.equal(30);
    expect(refused.tried).to.deep.equal([pathToFileURL(join(cfg.dir, 'schemas/test/event/1.0.0.yaml')).href]);
  });

  it('is not warned about when every base exists', async () => {
    cfg.write({ num_workers: 0 });
    const eg = new Eventgate(cfg.path);
    await eg.waitFor((l) => l.event === 'service.listening');
    expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
    expect(eg.lines.filter((l) => l.code === 'EG_ERR_SCHEMA_BASE_MISSING')).to.deep.equal([]);
  });
});
