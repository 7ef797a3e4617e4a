// Periodic work a feature runs beside its job workers (a sweep, a reconciliation): started by the service
// after the workers, stopped before them. It must be idempotent: every instance of the service runs it.
export interface BackgroundTask {
  readonly name: string;
  /** Starts the task; resolves to a function that stops it (and waits for a run in progress). */
  start(): () => Promise<void>;
}
