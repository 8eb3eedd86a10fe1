import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { until } from '../helpers/until';
import { Eventgate, send, withTempConfig, type TempConfig } from '../helpers/eventgate-process';

/** The nice value of each thread of `pid` (field 19 of /proc/PID/task/TID/stat). */
function threadNice(pid: number): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The command may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nice.set(Number(tid), Number(fields[16]));
  }
  return nice;
}

describe('pool threads scheduling priority', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  withTempConfig((c) => (cfg = c));

  for (const nice of [10, 0]) {
    it(`runs each pool thread at nice ${nice} (batch.thread_pool.nice) and the event loop at the process's own priority`, async function () {
      cfg.write({ num_workers: 0 }, { batch: { thread_pool: { enabled: true, min_threads: 1, max_threads: 1, nice } } });
      const eg = new Eventgate(cfg.path);
      await until(async () => (await send(cfg.port, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200, 20000, 'listening');
      const own = threadNice(process.pid).get(process.pid);
      const threads = (await until(() => {
        const t = threadNice(eg.pid);
        return [...t.values()].some((n) => n !== own) || nice === 0 ? t : undefined;
      }, 10000, 'a niced pool thread')) as Map<number, number>;
      expect(threads.get(eg.pid), 'the event loop').to.equal(own);
      const niced = [...threads.entries()].filter(([, n]) => n !== own);
      if (nice === 0) expect(niced).to.deep.equal([]);
      else expect(niced.map(([, n]) => n)).to.deep.equal([nice]);
      eg.signal('SIGTERM');
      await eg.exited;
    });
  }
});
