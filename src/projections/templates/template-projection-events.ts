// The events the template projection reads, typed: a recorded event of the template family becomes the
// domain event it holds, tagged with the stream it came from, the template it is about and what its
// metadata says (who, when, for which tenant). Everything that reads a stream id or a metadata field is
// here, once; the fold (template-fold.ts) sees only typed events.
import type { JsonObject } from '../../domain/json.js';
import type { RecordedEvent } from '../../ports/event-store.js';
import {
  isTemplateFavoriteStream,
  TEMPLATE_EVENT_TYPES,
  TEMPLATE_FAVORITE_EVENT_TYPES,
  TEMPLATE_USAGE_EVENT_TYPES,
  templateIdOfStream,
  templateIdOfUsageStream,
  type TemplateEvent,
  type TemplateFavoriteEvent,
  type TemplateUsageEvent,
} from '../../domain/templates/index.js';
import { isUuid } from '../../domain/uuid.js';

/** What the metadata of a recorded event says, read the one way every row of the projection uses. */
export interface EventContext {
  /** When the command ran (`occurredAt`), or when the store recorded the event if it says nothing. */
  readonly at: Date;
  readonly tenantId: string;
  readonly userId: string;
  readonly correlationId: string | null;
}

export type TemplateFamilyEvent =
  | {
      readonly stream: 'template';
      readonly templateId: string;
      /** The event's revision in the template's stream: the row keeps the last one it applied. */
      readonly revision: number;
      readonly context: EventContext;
      readonly event: TemplateEvent;
      /** The event's data as recorded, for the audit trail. */
      readonly recordedData: JsonObject;
    }
  | { readonly stream: 'favorite'; readonly templateId: string; readonly context: EventContext; readonly event: TemplateFavoriteEvent }
  | { readonly stream: 'usage'; readonly templateId: string; readonly context: EventContext; readonly event: TemplateUsageEvent };

/** An event of a template's own stream. */
export type TemplateOwnEvent = Extract<TemplateFamilyEvent, { stream: 'template' }>;

type Untyped = { readonly type: string; readonly data: unknown };

// The store holds only what the command side wrote, in the current shape (upcast when read): the type
// names the data's shape.
const typeGuard = <E extends Untyped>(types: readonly E['type'][]) => {
  const known = new Set<string>(types);
  return (event: Untyped): event is E => known.has(event.type);
};
const isTemplateEvent = typeGuard<TemplateEvent>(TEMPLATE_EVENT_TYPES);
const isFavoriteEvent = typeGuard<TemplateFavoriteEvent>(TEMPLATE_FAVORITE_EVENT_TYPES);
const isUsageEvent = typeGuard<TemplateUsageEvent>(TEMPLATE_USAGE_EVENT_TYPES);

export function eventContext(recorded: RecordedEvent): EventContext {
  const { occurredAt, tenantId, userId, correlationId } = recorded.metadata;
  return {
    at: new Date(String(occurredAt ?? recorded.recordedAt.toISOString())),
    tenantId: String(tenantId ?? ''),
    userId: String(userId ?? ''),
    correlationId: correlationId === undefined ? null : String(correlationId),
  };
}

/** The typed event, or undefined for a stream or an event type this projection does not read. */
export function readTemplateFamilyEvent(recorded: RecordedEvent): TemplateFamilyEvent | undefined {
  const event = { type: recorded.type, data: recorded.data };
  const templateId = templateIdOfStream(recorded.streamId);
  if (templateId !== undefined) {
    if (!isTemplateEvent(event)) return undefined;
    return {
      stream: 'template',
      templateId,
      revision: Number(recorded.revision),
      context: eventContext(recorded),
      event,
      recordedData: recorded.data,
    };
  }
  const usedTemplateId = templateIdOfUsageStream(recorded.streamId);
  if (usedTemplateId !== undefined) {
    return isUsageEvent(event) ? { stream: 'usage', templateId: usedTemplateId, context: eventContext(recorded), event } : undefined;
  }
  // A favorite's stream is named after the (template, user) pair: the template is in the data.
  if (isTemplateFavoriteStream(recorded.streamId) && isFavoriteEvent(event) && isUuid(event.data.templateId)) {
    return { stream: 'favorite', templateId: event.data.templateId.toLowerCase(), context: eventContext(recorded), event };
  }
  return undefined;
}
