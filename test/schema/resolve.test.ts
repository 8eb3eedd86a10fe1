import { expect } from 'chai';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseBaseUris, resolveSchemaUri, type ResolveOptions, type SchemaLocation } from '../../lib/schema/resolve';
import { thrown } from '../helpers/schema-server';

const CONFIG_DIR = '/etc/eventgate';
const YAML: ResolveOptions = { fileExtension: '.yaml', allowAbsoluteUris: false };
const PLAIN: ResolveOptions = { allowAbsoluteUris: false };

function hrefs(uri: string, baseUris: string[], opts: ResolveOptions = YAML): string[] {
  return resolveSchemaUri(uri, parseBaseUris(baseUris, CONFIG_DIR), opts).map((l: SchemaLocation) => l.href);
}

function paths(uri: string, baseUris: string[], opts: ResolveOptions = YAML): string[] {
  return resolveSchemaUri(uri, parseBaseUris(baseUris, CONFIG_DIR), opts).map((l) => (l.kind === 'file' ? l.path : l.url.href));
}

describe('schema URI resolution', () => {
  describe('base URIs', () => {
    it('resolves a plain relative base path against the config directory', () => {
      expect(paths('/test/event/1.0.0', ['./schemas'])).to.deep.equal([join(CONFIG_DIR, 'schemas/test/event/1.0.0.yaml')]);
    });

    it('uses a plain absolute base path as it is', () => {
      expect(paths('/test/event/1.0.0', ['/srv/schemas'])).to.deep.equal(['/srv/schemas/test/event/1.0.0.yaml']);
    });

    it('reads a file:// base as a local directory', () => {
      expect(paths('/test/event/1.0.0', ['file:///srv/schemas'])).to.deep.equal(['/srv/schemas/test/event/1.0.0.yaml']);
    });

    it('descends into an http base even when it lacks a trailing slash', () => {
      expect(hrefs('/test/event/1.0.0', ['http://schemas.example/repo'])).to.deep.equal(['http://schemas.example/repo/test/event/1.0.0.yaml']);
      expect(hrefs('/test/event/1.0.0', ['https://schemas.example/repo/'])).to.deep.equal(['https://schemas.example/repo/test/event/1.0.0.yaml']);
    });

    it('yields one location per base, in the configured order', () => {
      expect(hrefs('/a/1.0.0', ['/one', 'http://two.example/', 'file:///three'])).to.deep.equal([
        'file:///one/a/1.0.0.yaml',
        'http://two.example/a/1.0.0.yaml',
        'file:///three/a/1.0.0.yaml',
      ]);
    });

    it('refuses a base with a scheme it cannot fetch', () => {
      const err = thrown(() => parseBaseUris(['ftp://schemas.example/'], CONFIG_DIR), 'EG_ERR_CONFIG_INVALID');
      expect(err.message).to.contain('ftp://schemas.example/');
    });
  });

  describe('relative schema URIs', () => {
    it('treats a URI with and without a leading slash alike', () => {
      expect(paths('test/event/1.0.0', ['/s'])).to.deep.equal(paths('/test/event/1.0.0', ['/s']));
    });

    it('allows `..` that stays inside the base', () => {
      expect(paths('/test/x/../event/1.0.0', ['/s'])).to.deep.equal(['/s/test/event/1.0.0.yaml']);
    });

    it('decodes percent-encoded characters in segments and re-encodes them for http', () => {
      expect(paths('/a%20b/1.0.0', ['/s'])).to.deep.equal(['/s/a b/1.0.0.yaml']);
      expect(hrefs('/a%20b/1.0.0', ['http://h.example/'])).to.deep.equal(['http://h.example/a%20b/1.0.0.yaml']);
    });

    it('ignores an empty trailing fragment', () => {
      expect(paths('/test/event/1.0.0#', ['/s'])).to.deep.equal(['/s/test/event/1.0.0.yaml']);
    });
  });

  describe('file extension', () => {
    it('appends the extension to a versioned name, whose dots are not an extension', () => {
      expect(paths('/test/event/1.0.0', ['/s'])).to.deep.equal(['/s/test/event/1.0.0.yaml']);
    });

    it('appends the extension to a name without any dot', () => {
      expect(paths('/test/event/latest', ['/s'])).to.deep.equal(['/s/test/event/latest.yaml']);
    });

    it('leaves a name that already has an extension alone', () => {
      expect(paths('/test/event/1.0.0.json', ['/s'])).to.deep.equal(['/s/test/event/1.0.0.json']);
      expect(paths('/test/event/1.0.0.yaml', ['/s'])).to.deep.equal(['/s/test/event/1.0.0.yaml']);
    });

    it('appends nothing when no extension is configured', () => {
      expect(paths('/test/event/1.0.0', ['/s'], PLAIN)).to.deep.equal(['/s/test/event/1.0.0']);
    });

    it('appends the extension to absolute URIs too', () => {
      expect(hrefs('http://h.example/test/event/1.0.0', [], { ...YAML, allowAbsoluteUris: true })).to.deep.equal([
        'http://h.example/test/event/1.0.0.yaml',
      ]);
    });
  });

  describe('escaping the base', () => {
    const bases = ['/srv/schemas', 'http://h.example/repo/'];

    for (const uri of ['../secret', '/../secret', '/test/../../secret', 'a/b/../../../etc/passwd']) {
      it(`refuses ${uri}, which leaves the base`, () => {
        const err = thrown(() => hrefs(uri, bases), 'EG_ERR_SCHEMA_URI_ESCAPE');
        expect(err.message).to.contain(uri);
      });
    }

    for (const uri of ['%2e%2e/secret', '/%2E%2E/%2e%2E/etc/passwd', '/.%2e/secret', '/%2e./secret']) {
      it(`refuses the percent-encoded ${uri}`, () => {
        thrown(() => hrefs(uri, bases), 'EG_ERR_SCHEMA_URI_ESCAPE');
      });
    }

    it('refuses an encoded slash that would hide `..` inside one segment', () => {
      thrown(() => hrefs('/..%2f..%2fetc/passwd', bases), 'EG_ERR_SCHEMA_URI_INVALID');
    });

    it('refuses a backslash, which some file systems read as a separator', () => {
      thrown(() => hrefs('/..\\..\\etc', bases), 'EG_ERR_SCHEMA_URI_INVALID');
      thrown(() => hrefs('/..%5c..%5cetc', bases), 'EG_ERR_SCHEMA_URI_INVALID');
    });
  });

  describe('absolute schema URIs', () => {
    const allowed: ResolveOptions = { ...PLAIN, allowAbsoluteUris: true };

    for (const uri of ['http://evil.example/x', 'https://evil.example/x', 'file:///etc/passwd', '//evil.example/x', 'ftp://evil.example/x']) {
      it(`refuses ${uri} by default`, () => {
        const err = thrown(() => hrefs(uri, ['/s'], PLAIN), 'EG_ERR_SCHEMA_URI_ABSOLUTE');
        expect(err.message).to.contain(uri);
      });
    }

    it('resolves an http URI to itself, without any base, when allowed', () => {
      expect(hrefs('http://h.example/test/event/1.0.0', ['/s'], allowed)).to.deep.equal(['http://h.example/test/event/1.0.0']);
    });

    it('resolves a file URI to its path when allowed', () => {
      const locations = resolveSchemaUri('file:///srv/x/1.0.0', [], allowed);
      expect(locations).to.deep.equal([{ kind: 'file', path: '/srv/x/1.0.0', href: pathToFileURL('/srv/x/1.0.0').href }]);
    });

    it('refuses schemes other than file, http and https even when allowed', () => {
      thrown(() => hrefs('ftp://h.example/x', [], allowed), 'EG_ERR_SCHEMA_URI_INVALID');
      thrown(() => hrefs('data:text/plain,{}', [], allowed), 'EG_ERR_SCHEMA_URI_INVALID');
    });
  });

  describe('invalid URIs', () => {
    it('refuses a URI longer than the limit without echoing it', () => {
      const err = thrown(() => hrefs(`/${'a'.repeat(3000)}`, ['/s']), 'EG_ERR_SCHEMA_URI_INVALID');
      expect(err.message.length).to.be.below(100);
    });

    for (const uri of ['', ' ', '/test/event 1.0.0', '/test\n', '/a/%zz/1.0.0', '/test/event/1.0.0?x=1', '/test/event/1.0.0#/definitions/x', '/', '/./.']) {
      it(`refuses ${JSON.stringify(uri)}`, () => {
        thrown(() => hrefs(uri, ['/s']), 'EG_ERR_SCHEMA_URI_INVALID');
      });
    }
  });
});
