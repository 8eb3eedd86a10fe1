import { serialize } from 'node:v8';
import type { StreamRegistry, StreamTable } from '../stream';
import type { StreamSnapshot } from './task';

/**
 * The registry's current table as a snapshot for threads. A refresh that
 * changed the config swaps the table object, which gives a new version here;
 * threads rebuild their table once per version.
 */
export class StreamSnapshots {
  private table: StreamTable | undefined;
  private snapshot: StreamSnapshot | undefined;
  private version = 0;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly serviceName: string,
  ) {}

  current(): StreamSnapshot {
    const table = this.registry.table;
    if (this.snapshot === undefined || table !== this.table) {
      const data = serialize(table.source);
      const bytes = new Uint8Array(new SharedArrayBuffer(data.length));
      bytes.set(data);
      this.table = table;
      this.snapshot = { version: ++this.version, serviceName: this.serviceName, bytes };
    }
    return this.snapshot;
  }
}
