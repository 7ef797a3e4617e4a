// Which request an Idempotency-Key was first used for: the HTTP layer asks before running a command;
// adapters/idempotency/idempotency-record-store.ts keeps the bindings in the SQL database.

/** `first`: the key was free and is now bound to this request; `same`: a repeat; `other`: bound to another request. */
export type IdempotencyVerdict = 'first' | 'same' | 'other';

export interface IdempotencyRecordStore {
  migrate(): Promise<void>;
  /** Binds `commandId` to `fingerprint` unless it is bound already, and says which it was. */
  bind(commandId: string, fingerprint: string): Promise<IdempotencyVerdict>;
}
