/**
 * The memory this process may use as its container sees it: the limit of its
 * own memory cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`, the
 * smallest on the way up to the root, since a parent's limit binds its
 * children), else none. Read from /proc/self/cgroup and the cgroup mounts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryLimit {
  readonly bytes: number;
  /** Which file said so. */
  readonly source: string;
}

/**
 * v1 reports "no limit" as the largest page-aligned 63-bit number, v2 as
 * "max"; anything past 2^60 bytes is no limit a machine has.
 */
const UNLIMITED = 2 ** 60;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function limitIn(file: string): number | undefined {
  const text = read(file);
  if (text === undefined || text === 'max') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 && n < UNLIMITED ? n : undefined;
}

/** The cgroup folders from `dir` up to the mount point (inclusive), most specific first. */
function upwards(mount: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push(join(mount, ...parts.slice(0, n)));
  return dirs;
}

/** The smallest limit in `file` on the way from the process's cgroup to the root. */
function smallest(mount: string, path: string, file: string): MemoryLimit | undefined {
  let best: MemoryLimit | undefined;
  for (const dir of upwards(mount, path)) {
    const bytes = limitIn(join(dir, file));
    if (bytes !== undefined && (best === undefined || bytes < best.bytes)) best = { bytes, source: join(dir, file) };
  }
  return best;
}

/**
 * The container's memory limit, or undefined when there is none (or no
 * cgroup file to read, as outside Linux). `root` is where /proc and /sys are
 * (tests give a fake tree).
 */
export function containerMemoryLimit(root = '/'): MemoryLimit | undefined {
  const lines = read(join(root, 'proc/self/cgroup'))?.split('\n') ?? [];
  const mount = join(root, 'sys/fs/cgroup');
  for (const line of lines) {
    // v1: "4:memory:/path"; the controller list may name several ("4:cpu,memory:/path").
    const [, controllers, path] = line.split(':', 3);
    if (path === undefined || !controllers.split(',').includes('memory')) continue;
    // Without a cgroup namespace the path is the host's, and only the mount's own root (the
    // container's cgroup) exists here: upwards() ends there, so that one is read too.
    return smallest(join(mount, 'memory'), path, 'memory.limit_in_bytes');
  }
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified !== undefined) {
    return smallest(mount, unified.slice(3), 'memory.max');
  }
  return undefined;
}
