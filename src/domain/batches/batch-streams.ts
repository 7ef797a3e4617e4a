// The batch stream: one per batch, named and parsed in one place (like template-streams.ts).
import { UUID_PATTERN } from '../uuid.js';

export const BATCH_CATEGORY = 'batch';
export const batchStreamId = (batchId: string) => `${BATCH_CATEGORY}-${batchId.toLowerCase()}`;

const BATCH_STREAM = new RegExp(`^${BATCH_CATEGORY}-(${UUID_PATTERN})$`, 'i');
/** The batch id of a batch stream; undefined for any other stream. */
export const batchIdOfStream = (streamId: string): string | undefined => BATCH_STREAM.exec(streamId)?.[1]?.toLowerCase();
