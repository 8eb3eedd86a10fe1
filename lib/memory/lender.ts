/**
 * What a worker's admission (lib/http/admission.ts) needs of the master's
 * ledger of shared body memory (ledger.ts): lib/supervisor/lender.ts is the
 * one over the cluster IPC.
 */

export type GrantAnswer = 'granted' | 'busy' | 'never';

/** What BodyAdmission needs of the master. */
export interface Lender {
  /** Resolves with the master's answer (never rejects); on 'granted', `id` holds the bytes until done(id). */
  ask(bytes: number): Promise<{ id: number; answer: GrantAnswer }>;
  done(id: number): void;
}
