import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from './paths';
import { validateConfig } from '../../lib/config/load';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { startService, type RunningService } from '../../lib/service';

export { ROOT };
/** Wikimedia's production schemas, copied into the repository (see its README). */
export const WMF_SCHEMAS = resolve(ROOT, 'test/fixtures/wmf-schemas');

export interface TestService {
  readonly port: number;
  readonly metrics: MemoryMetrics;
  readonly service: RunningService;
  /** Events the file sink wrote, parsed. */
  written(): unknown[];
  close(): Promise<void>;
}

/**
 * Starts the real service in this process on port 0, with the file sink
 * writing to a fresh temporary file. `conf` is merged into services[0].conf.
 */
export async function startTestService(conf: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'eventgate-test-'));
  const output = join(dir, 'events.ndjson');
  const config = validateConfig({
    // Tests close services often and idle keep-alive connections of the test client are no
    // requests in flight: no grace (test/supervisor/drain.test.ts tests the grace).
    drain_idle_grace_ms: 0,
    ...top,
    services: [
      {
        name: 'eventgate',
        conf: {
          port: 0,
          interface: '127.0.0.1',
          schema_base_uris: ['./schemas'],
          schema_file_extension: '.yaml',
          output_path: output,
          ...conf,
        },
      },
    ],
  });
  const metrics = new MemoryMetrics();
  const service = await startService({ config, dir: ROOT }, { log: silentLogger(), metrics });
  return {
    port: service.port,
    metrics,
    service,
    written() {
      let text = '';
      try {
        text = readFileSync(output, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as unknown);
    },
    async close() {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
