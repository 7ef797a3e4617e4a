import { InvalidEventError, type EventToAppend } from '../../ports/event-store.js';
import { isUuid } from '../../domain/uuid.js';

/** NUL, or a surrogate half without its partner: text that PostgreSQL refuses (text and jsonb) and that has
 * no UTF-8 form (EventStoreDB would silently store U+FFFD instead). */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path of the first string or key in `root` that cannot be stored, or undefined. Iterative, so a deep
 * value cannot overflow the stack; paths are built only for the value it reports. */
export function unstorableTextPath(root: unknown, rootPath: string): string | undefined {
  const stack: { value: unknown; path: () => string }[] = [{ value: root, path: () => rootPath }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE_TEXT.test(value)) return path();
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: () => `${path()}[${index}]` }));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const itemPath = () => `${path()}.${key}`;
        if (UNSTORABLE_TEXT.test(key)) return itemPath();
        stack.push({ value: item, path: itemPath });
      }
    }
  }
  return undefined;
}

/** Refuses an append that no store could write whole: no events, an id that is not a UUID (every store
 * keys idempotency on it), one id twice in the batch, or text that cannot be stored. Checked before any
 * I/O and before an append joins a group commit, so nothing is written and nothing else fails with it. */
export function assertAppendable(streamId: string, events: readonly EventToAppend[]): void {
  if (streamId.length === 0) throw new RangeError('append needs a stream id');
  if (events.length === 0) throw new RangeError(`stream ${streamId}: append needs at least one event`);
  const seen = events.length > 1 ? new Set<string>() : undefined;
  for (const event of events) {
    if (!isUuid(event.id)) throw new RangeError(`stream ${streamId}: event id ${JSON.stringify(event.id)} is not a UUID`);
    if (!event.type) throw new RangeError(`stream ${streamId}: event ${event.id} has no type`);
    const unstorable =
      (UNSTORABLE_TEXT.test(streamId) ? 'streamId' : undefined) ??
      (UNSTORABLE_TEXT.test(event.type) ? 'type' : undefined) ??
      unstorableTextPath(event.data, 'data') ??
      unstorableTextPath(event.metadata, 'metadata');
    if (unstorable) throw new InvalidEventError(streamId, event.id, unstorable);
    if (!seen) continue;
    const id = event.id.toLowerCase();
    if (seen.has(id)) throw new RangeError(`stream ${streamId}: event id ${id} appears twice in one append`);
    seen.add(id);
  }
}
