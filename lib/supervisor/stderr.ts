/**
 * A debug-mode worker's stderr, read by the master: node's inspector writes
 * `Debugger listening on ws://...` (and more when a debugger attaches) there,
 * plain text among the JSON log lines, and journald or a terminal mixes both
 * streams anyway. JSON lines (the worker's own logs) go on unchanged; every
 * other line becomes a log line of the master naming the worker, so that the
 * log stays JSON from end to end.
 */
import type { Readable } from 'node:stream';
import bunyan from 'bunyan';
import type { Logger } from '../log';
import type { LogEvent } from '../log-events';

/** What node's inspector says on its own; anything else on stderr is worth a warning. */
const INSPECTOR_LINE = /^(Debugger listening on |For help, see: https:\/\/nodejs\.org|Debugger attached\.|Debugger ending on |Waiting for the debugger to disconnect)/;

/**
 * The inspector's lines are what debug mode is turned on for: logged at info,
 * or at the log's own level when that is higher, so that a reload that both
 * quiets the log (warn) and turns debug mode on still tells where to attach.
 */
function inspectorLevel(log: Logger): 'info' | 'warn' | 'error' | 'fatal' {
  const level = log.level();
  if (level >= bunyan.FATAL) return 'fatal';
  if (level >= bunyan.ERROR) return 'error';
  if (level >= bunyan.WARN) return 'warn';
  return 'info';
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

export function forwardStderr(stderr: Readable, log: Logger, fields: Readonly<Record<string, unknown>>, out: NodeJS.WritableStream = process.stderr): void {
  let rest = '';
  const line = (text: string): void => {
    if (!text) return;
    if (isJsonObject(text)) {
      out.write(`${text}\n`);
      return;
    }
    const url = /^Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
    if (INSPECTOR_LINE.test(text)) log[inspectorLevel(log)]({ event: 'worker.stderr' satisfies LogEvent, ...fields, detail: text, ...(url ? { inspector_url: url } : {}) }, 'worker stderr');
    else log.warn({ event: 'worker.stderr' satisfies LogEvent, ...fields, detail: text }, 'worker stderr');
  };
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) line(p);
  });
  stderr.on('end', () => line(rest));
}
