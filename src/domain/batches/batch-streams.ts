// The batch stream: one per batch, named and parsed in one place (domain/tenant-streams.ts).
import { globalStreamId, idOfStream } from '../tenant-streams.js';

export const BATCH_CATEGORY = 'batch';
export const batchStreamId = (batchId: string) => globalStreamId(BATCH_CATEGORY, batchId);

/** The batch id of a batch stream; undefined for any other stream. */
export const batchIdOfStream = (streamId: string): string | undefined => idOfStream(BATCH_CATEGORY, streamId);
