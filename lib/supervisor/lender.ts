/**
 * A worker's side of the shared body memory (lib/memory/ledger.ts is the
 * master's): asks the master for a grant over the cluster IPC and says when
 * the body is done. An ask is bounded in time: a master that does not answer
 * within `timeoutMs` (busy, or gone) counts as "busy", so a request is never
 * left hanging on it; a grant that arrives after that is given back at once.
 */
import type { GrantAnswer, Lender } from '../memory/lender';
import type { MasterMessage, WorkerMessage } from './ipc';

interface Pending {
  readonly resolve: (answer: GrantAnswer) => void;
  readonly timer: NodeJS.Timeout;
}

export class IpcLender implements Lender {
  private lastId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly send: (msg: WorkerMessage) => void,
    private readonly timeoutMs: number,
  ) {}

  ask(bytes: number): Promise<{ id: number; answer: GrantAnswer }> {
    const id = ++this.lastId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ id, answer: 'busy' });
      }, this.timeoutMs);
      this.pending.set(id, { resolve: (answer) => resolve({ id, answer }), timer });
      this.send({ type: 'memory_ask', id, bytes });
    });
  }

  done(id: number): void {
    this.send({ type: 'memory_done', id });
  }

  /** The worker's message handler hands the master's answers here. */
  receive(msg: MasterMessage): void {
    if (msg.type !== 'memory_answer') return;
    const p = this.pending.get(msg.id);
    if (!p) {
      // Timed out here already: the request was answered 503, so the grant is nobody's.
      if (msg.answer === 'granted') this.done(msg.id);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve(msg.answer);
  }
}
