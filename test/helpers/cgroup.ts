/**
 * A memory cgroup of its own for the processes a test starts (v1's memory
 * controller, or v2 where the machine has it): a limit, swap off for it, the
 * kernel's count of OOM kills in it, its peak usage. Needs root; removed by
 * remove(), which kills what is left in it first.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

function v2HasMemory(): boolean {
  try {
    return readFileSync(join(V2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
  } catch {
    return false;
  }
}

/** Whether this machine lets us make a memory cgroup (root, and a memory controller mounted). */
export function canMakeMemoryCgroup(): boolean {
  return process.getuid?.() === 0 && (existsSync(join(V1, 'memory.limit_in_bytes')) || v2HasMemory());
}

export class MemoryCgroup {
  readonly dir: string;
  private readonly v1: boolean;

  constructor(name: string, limitBytes: number) {
    this.v1 = existsSync(join(V1, 'memory.limit_in_bytes'));
    this.dir = join(this.v1 ? V1 : V2, name);
    mkdirSync(this.dir);
    if (this.v1) {
      writeFileSync(join(this.dir, 'memory.limit_in_bytes'), String(limitBytes));
      // With swap, a process over the limit is swapped rather than killed: memsw = limit means none.
      const memsw = join(this.dir, 'memory.memsw.limit_in_bytes');
      if (existsSync(memsw)) writeFileSync(memsw, String(limitBytes));
    } else {
      writeFileSync(join(this.dir, 'memory.max'), String(limitBytes));
      const swap = join(this.dir, 'memory.swap.max');
      if (existsSync(swap)) writeFileSync(swap, '0');
    }
  }

  /** The file a process writes its pid to, to move itself in (before it execs what is to run in here). */
  get procsFile(): string {
    return join(this.dir, 'cgroup.procs');
  }

  /** argv that runs `command` inside this cgroup: a shell moves itself in, then execs it. */
  wrap(command: readonly string[]): string[] {
    return ['/bin/sh', '-c', `echo $$ > ${this.procsFile} && exec "$@"`, 'in-cgroup', ...command];
  }

  /** Processes the kernel OOM-killed in here so far. */
  oomKills(): number {
    const text = readFileSync(join(this.dir, this.v1 ? 'memory.oom_control' : 'memory.events'), 'utf8');
    const m = /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  }

  /** Highest memory use so far (anon and page cache: the kernel reclaims the cache before it kills). */
  peakBytes(): number {
    const file = this.v1 ? 'memory.max_usage_in_bytes' : 'memory.peak';
    try {
      return Number(readFileSync(join(this.dir, file), 'utf8'));
    } catch {
      return NaN;
    }
  }

  /** Anonymous memory in use now (what the kernel cannot reclaim without swap). */
  anonBytes(): number {
    const stat = readFileSync(join(this.dir, 'memory.stat'), 'utf8');
    const m = (this.v1 ? /^total_rss (\d+)$/m : /^anon (\d+)$/m).exec(stat);
    return m ? Number(m[1]) : NaN;
  }

  pids(): number[] {
    return readFileSync(this.procsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  }

  /** Kills what is left in it and removes it. */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    rmdirSync(this.dir);
  }
}
