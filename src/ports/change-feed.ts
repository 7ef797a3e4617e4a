/**
 * Word between processes that something changed: PostgreSQL's LISTEN/NOTIFY. It carries no data, only a
 * topic (a job queue's name, or '' for the event log); a woken reader reads the database as after a poll.
 * In one process the adapters wake their readers directly; this is for the other processes on the database.
 */
export type ChangeChannel = 'events' | 'jobs';

export interface ChangeFeed {
  /** Tells the other processes that `topic` changed (after the commit). Coalesced: one word may stand for many changes. */
  announce(channel: ChangeChannel, topic: string): void;
  /** `listener` hears each word another process announces on `channel`; returns the unsubscribe. */
  onChange(channel: ChangeChannel, listener: (topic: string) => void): () => void;
  /** Whether words arrive now: while not (connection lost, reconnecting), readers poll at their fast interval. */
  listening(): boolean;
  close(): Promise<void>;
}
