import { expect } from 'chai';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchSchemaText } from '../../lib/schema/fetch';
import type { SchemaLocation } from '../../lib/schema/resolve';
import { freePort } from '../helpers/ports';
import { FIXTURES, rejection, startSchemaServer, type SchemaServer } from '../helpers/schema-server';

function file(path: string): SchemaLocation {
  return { kind: 'file', path, href: pathToFileURL(path).href };
}

function http(href: string): SchemaLocation {
  const url = new URL(href);
  return { kind: 'http', url, href: url.href };
}

describe('schema fetch', () => {
  describe('from files', () => {
    it('reads the text of an existing file', async () => {
      const text = await fetchSchemaText(file(join(FIXTURES, 'ref/chain/1.0.0.yaml')), 1000);
      expect(text).to.contain('$id: /ref/chain/1.0.0');
    });

    it('answers undefined for a missing file, a missing directory or a directory', async () => {
      expect(await fetchSchemaText(file(join(FIXTURES, 'ref/chain/9.9.9.yaml')), 1000)).to.equal(undefined);
      expect(await fetchSchemaText(file(join(FIXTURES, 'nope/x/1.0.0.yaml')), 1000)).to.equal(undefined);
      expect(await fetchSchemaText(file(join(FIXTURES, 'ref')), 1000)).to.equal(undefined);
    });
  });

  describe('over http', () => {
    let server: SchemaServer;
    beforeEach(async () => {
      server = await startSchemaServer(FIXTURES);
    });
    afterEach(async () => {
      await server.close();
    });

    it('reads the body of a 200 answer', async () => {
      const text = await fetchSchemaText(http(`${server.base}ref/chain/1.0.0.yaml`), 1000);
      expect(text).to.contain('$id: /ref/chain/1.0.0');
    });

    it('answers undefined for 404 and 410', async () => {
      expect(await fetchSchemaText(http(`${server.base}nope/1.0.0.yaml`), 1000)).to.equal(undefined);
      server.handle((_req, res) => {
        res.statusCode = 410;
        res.end();
        return true;
      });
      expect(await fetchSchemaText(http(`${server.base}ref/chain/1.0.0.yaml`), 1000)).to.equal(undefined);
    });

    it('fails with EG_ERR_SCHEMA_FETCH naming the URL and status on a 5xx', async () => {
      server.handle((_req, res) => {
        res.statusCode = 503;
        res.end('busy');
        return true;
      });
      const href = `${server.base}ref/chain/1.0.0.yaml`;
      const err = await rejection(fetchSchemaText(http(href), 1000), 'EG_ERR_SCHEMA_FETCH');
      expect(err.message).to.contain(href).and.to.contain('503');
    });

    it('fails with EG_ERR_SCHEMA_FETCH when the server does not answer in time', async () => {
      server.handle(() => true); // never answers
      const started = Date.now();
      const err = await rejection(fetchSchemaText(http(`${server.base}slow.yaml`), 100), 'EG_ERR_SCHEMA_FETCH');
      expect(err.message).to.contain('timed out after 100 ms');
      // Ended by the 100 ms timeout, not by the server (which never answers): room for a loaded machine.
      expect(Date.now() - started).to.be.below(5000);
    });

    it('follows a redirect within the same origin', async () => {
      server.handle((req, res) => {
        if (req.url !== '/moved.yaml') return false;
        res.writeHead(301, { location: '/ref/chain/1.0.0.yaml' });
        res.end();
        return true;
      });
      const text = await fetchSchemaText(http(`${server.base}moved.yaml`), 1000);
      expect(text).to.contain('$id: /ref/chain/1.0.0');
    });

    it('refuses a redirect to another origin', async () => {
      server.handle((_req, res) => {
        res.writeHead(302, { location: 'http://elsewhere.invalid/x.yaml' });
        res.end();
        return true;
      });
      const err = await rejection(fetchSchemaText(http(`${server.base}x.yaml`), 1000), 'EG_ERR_SCHEMA_FETCH');
      expect(err.message).to.contain('another origin');
    });
  });

  it('fails with EG_ERR_SCHEMA_FETCH when the connection is refused', async () => {
    const port = await freePort();
    const err = await rejection(fetchSchemaText(http(`http://127.0.0.1:${port}/x.yaml`), 1000), 'EG_ERR_SCHEMA_FETCH');
    expect(err.message).to.contain('ECONNREFUSED');
  });
});
