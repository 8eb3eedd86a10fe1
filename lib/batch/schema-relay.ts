/**
 * Pool threads find schema documents through their worker's main thread.
 * Each thread compiles and caches schemas itself (validators cannot cross
 * threads), but fetching them there would multiply the worker's bound on
 * schema fetches in flight (schema_limits.max_concurrent_fetches) by its
 * threads, and fetch one schema once per thread. Asked through the main
 * thread, one bound and one fetch per schema cover them all.
 *
 * A BroadcastChannel, named per pool: piscina gives a thread no port of its
 * own, and a port per task would cost every pooled batch (~25 µs) for the
 * rare one that misses a schema. Every thread sees every reply and keeps
 * those addressed to it. A thread that dies (terminated on a timeout) leaves
 * nothing held: the main thread's fetch ends within its own deadline.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { codeOf, EventGateError, isErrorCode, messageOf } from '../errors';
import type { Logger } from '../log';
import type { LocatedSchema } from '../schema/locate';

type Message =
  | { readonly kind: 'locate'; readonly from: number; readonly id: number; readonly uri: string }
  | { readonly kind: 'located'; readonly to: number; readonly id: number; readonly found: LocatedSchema }
  | { readonly kind: 'failed'; readonly to: number; readonly id: number; readonly code: string; readonly message: string; readonly details: unknown };

export interface SchemaRelay {
  /** The channel's name, for the threads (ThreadData). */
  readonly name: string;
  close(): void;
}

/** Main thread: answers the threads' asks with `locate` (SchemaRepository.locateDocument). */
export function serveSchemaRelay(locate: (uri: string) => Promise<LocatedSchema>, log: Logger): SchemaRelay {
  const name = `eventgate-schemas-${randomUUID()}`;
  const channel = new BroadcastChannel(name);
  let closed = false;
  const post = (m: Message): void => {
    if (closed) return;
    try {
      channel.postMessage(m);
    } catch (err) {
      // A document that cannot be cloned cannot be: the thread waits for its task's timeout.
      log.error({ err }, 'schema relay could not answer a pool thread');
    }
  };
  channel.onmessage = (event: unknown) => {
    const m = (event as { data: Message }).data;
    if (m.kind !== 'locate') return;
    locate(m.uri).then(
      (found) => post({ kind: 'located', to: m.from, id: m.id, found }),
      (err: unknown) => {
        const details = err instanceof EventGateError ? err.details : undefined;
        post({ kind: 'failed', to: m.from, id: m.id, code: codeOf(err), message: messageOf(err), details });
      },
    );
  };
  // The pool closes it; until then it must not keep a stopping worker alive.
  channel.unref();
  return {
    name,
    close: () => {
      closed = true;
      channel.close();
    },
  };
}

/** Pool thread: a `locate` for SchemaRepositoryOptions that asks the main thread. */
export function relayedLocate(name: string): (uri: string) => Promise<LocatedSchema> {
  const channel = new BroadcastChannel(name);
  const waiting = new Map<number, { resolve: (found: LocatedSchema) => void; reject: (err: EventGateError) => void }>();
  let next = 0;
  channel.onmessage = (event: unknown) => {
    const m = (event as { data: Message }).data;
    if (m.kind === 'locate' || m.to !== threadId) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.kind === 'located') w.resolve(m.found);
    else w.reject(new EventGateError(isErrorCode(m.code) ? m.code : 'EG_ERR_INTERNAL', m.message, { details: m.details }));
  };
  // Only while an answer is awaited does the channel keep the thread's loop alive.
  channel.unref();
  return (uri) =>
    new Promise<LocatedSchema>((resolve, reject) => {
      const id = next++;
      if (waiting.size === 0) channel.ref();
      const settle = (): void => {
        if (waiting.size === 0) channel.unref();
      };
      waiting.set(id, {
        resolve: (found) => {
          resolve(found);
          settle();
        },
        reject: (err) => {
          reject(err);
          settle();
        },
      });
      channel.postMessage({ kind: 'locate', from: threadId, id, uri } satisfies Message);
    });
}
