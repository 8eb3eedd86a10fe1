/**
 * Schema base folders that are not there. A missing folder is no error by
 * itself (a deployment may create it later, and other bases may hold every
 * schema), but a copied config whose relative `./schemas` now resolves
 * beside the config file, not the checkout, refuses every event with
 * nothing else to point at it: the service warns at start.
 */
import { statSync } from 'node:fs';
import { parseBaseUris } from './resolve';

export interface MissingBase {
  /** As written in schema_base_uris. */
  readonly base: string;
  /** The folder it resolved to. */
  readonly dir: string;
}

export function missingSchemaBases(baseUris: readonly string[], configDir: string): MissingBase[] {
  return parseBaseUris(baseUris, configDir).flatMap((b, i) => {
    if (b.kind !== 'file') return [];
    try {
      if (statSync(b.dir).isDirectory()) return [];
    } catch {
      // Missing or unreadable: either way no schema will be found there.
    }
    return [{ base: baseUris[i], dir: b.dir }];
  });
}
