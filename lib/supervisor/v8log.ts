/**
 * Which V8 log is a debug worker's event loop. With `--prof` and a log per
 * isolate (V8's default), every isolate of the process writes its own file,
 * `isolate-0x<address>-<pid>-<name>` beside the `--logfile` path: the main
 * thread, and each pool thread. The address says nothing a reader can rely
 * on, so the worker renames its own (main) isolate's file to the plain
 * `--logfile` name before any pool thread exists: `eventgate-v8-<pid>.log`
 * is the event loop, the `isolate-*` files beside it are the pool threads.
 * V8 keeps writing to the open file under its new name.
 */
import { readdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const LOGFILE = '--logfile=';

export type EventLoopLog = { readonly path: string } | { readonly path?: undefined; readonly reason: string };

/**
 * Renames this process's only per-isolate V8 log to the `--logfile` name.
 * Call it before the process starts a worker thread. Nothing to do (and a
 * reason) when the flags write no per-isolate log.
 */
export function nameEventLoopLog(execArgv: readonly string[] = process.execArgv, pid: number = process.pid): EventLoopLog {
  const flag = execArgv.findLast((f) => f.startsWith(LOGFILE));
  if (flag === undefined) return { reason: 'no --logfile flag' };
  if (execArgv.includes('--no-logfile-per-isolate')) return { reason: '--no-logfile-per-isolate: one log for all isolates' };
  // V8 replaces %p with the pid; eventgate's own template uses nothing else.
  const template = flag.slice(LOGFILE.length).replaceAll('%p', String(pid));
  const dir = dirname(template);
  const name = basename(template);
  const suffix = `-${pid}-${name}`;
  let mine: string[];
  try {
    mine = readdirSync(dir).filter((f) => f.startsWith('isolate-0x') && f.endsWith(suffix));
  } catch (err) {
    return { reason: `cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (mine.length !== 1) return { reason: `${mine.length} per-isolate logs of pid ${pid} in ${dir}, expected 1` };
  const path = join(dir, name);
  try {
    renameSync(join(dir, mine[0]), path);
  } catch (err) {
    return { reason: `cannot rename ${mine[0]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  return { path };
}
