// A template as it was at a moment (GET /v1/templates/{id}?asOf=…), folded from its stream and its
// ancestors' streams with the aggregate's own evolve(). Inheritance follows the projector's rule
// (effective-templates.ts): a child receives its parent's effective content only while the parent is
// visible to the child's tenant; from the event that hid the parent on, the child keeps what it had
// received up to that event, and is flagged `parentUnavailable`.
import {
  comparePositions,
  StreamNotFoundError,
  streamCategory,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../ports/event-store.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  inheritEffective,
  isVisibleTo,
  MAX_INHERITANCE_DEPTH,
  templateDecider,
  templateStreamId,
  type EffectiveTemplate,
  type LiveTemplateState,
  type TemplateContent,
  type TemplateEvent,
  type TemplateState,
} from '../../domain/templates/index.js';

export interface TemplateAsOfDeps {
  readonly eventStore: Pick<EventStore, 'readStream'>;
  /** Brings a stored event to its current shape (the commands' upcasting), so the fold sees what the
   * commands see; without it events are folded as stored. */
  readonly upcast?: (event: RecordedEvent) => RecordedEvent;
}

export interface TemplateAsOf {
  readonly templateId: string;
  readonly ownerTenantId: string;
  readonly name: string;
  readonly description: string | null;
  readonly categoryId: string | null;
  readonly templateType: string;
  readonly status: LiveTemplateState['status'];
  readonly parentTemplateId: string | null;
  readonly isPublic: boolean;
  readonly isSystemTemplate: boolean;
  readonly version: number;
  readonly revision: number;
  readonly content: TemplateContent;
  readonly effective: EffectiveTemplate;
  readonly parentUnavailable: boolean;
}

/** The template had no event yet at that moment (it is visible to the caller now). */
export class TemplateAbsentAsOfError extends Error {
  override readonly name = 'TemplateAbsentAsOfError';
  constructor(
    readonly templateId: string,
    readonly asOf: Date,
  ) {
    super(`template ${templateId} did not exist at ${asOf.toISOString()}`);
  }
}

const fold = (events: readonly RecordedEvent[]) =>
  events.reduce<TemplateState>(
    (state, event) => templateDecider.evolve(state, { type: event.type, data: event.data } as TemplateEvent),
    templateDecider.initialState(),
  );

const visibleTo = (state: TemplateState, tenantId: string) =>
  state.status !== 'absent' &&
  isVisibleTo({ ownerTenantId: state.ownerTenantId, isPublic: state.content.isPublic, isSystemTemplate: state.isSystemTemplate }, tenantId);

/** A template stream's events in their current shapes; a missing stream has none. */
async function readTemplateStream(deps: TemplateAsOfDeps, templateId: string): Promise<readonly RecordedEvent[]> {
  try {
    const events = await deps.eventStore.readStream(templateStreamId(templateId));
    return deps.upcast ? events.map(deps.upcast) : events;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

/**
 * The template `templateId` as `tenantId` may see it at `asOf`. Visibility is judged on the current state,
 * as for every read: a template made private since is "not found" (RuleViolation `template.not_found`, the
 * commands' answer for another tenant's stream). A template that did not exist yet at that moment is
 * TemplateAbsentAsOfError.
 */
export async function templateAsOf(deps: TemplateAsOfDeps, tenantId: string, templateId: string, asOf: Date): Promise<TemplateAsOf> {
  const asOfMs = asOf.getTime();
  /** The events up to `asOf` (a prefix, ending before the first one that occurred later), and strictly
   * before `limit` when given. */
  const cut = (events: readonly RecordedEvent[], limit?: Position) => {
    const end = events.findIndex(
      (event) =>
        !(Date.parse(String(event.metadata.occurredAt)) <= asOfMs) || (limit !== undefined && comparePositions(event.position, limit) >= 0),
    );
    return end === -1 ? events : events.slice(0, end);
  };

  const all = await readTemplateStream(deps, templateId);
  const ownEvents = cut(all);
  const state = fold(ownEvents);
  const now = ownEvents.length === all.length ? state : fold(all);
  // A deleted template's history stays readable "as of" a time before the delete, to those who saw it.
  const current = now.status === 'absent' ? now.deleted : now;
  if (current !== undefined && !visibleTo(current, tenantId)) {
    throw new RuleViolation(`${streamCategory(templateStreamId(templateId))}.not_found`, 'not found', 'not_found');
  }
  if (state.status === 'absent') throw new TemplateAbsentAsOfError(templateId, asOf);

  // Every stream read once, whole: which content flows is decided below by the rule, not by who reads.
  const streams = new Map<string, readonly RecordedEvent[]>([[templateId, ownEvents]]);
  const eventsOf = async (id: string) => {
    let events = streams.get(id);
    if (!events) {
      events = await readTemplateStream(deps, id);
      streams.set(id, events);
    }
    return events;
  };

  const effectiveAt = async (
    id: string,
    limit: Position | undefined,
    depth: number,
  ): Promise<{ effective: EffectiveTemplate; parentUnavailable: boolean } | undefined> => {
    const events = cut(await eventsOf(id), limit);
    const template = fold(events);
    if (template.status === 'absent') return undefined;
    const own = template.content;
    const parentId = template.parentTemplateId;
    // A chain that loops (two concurrent re-parentings) or runs too deep ends here, as in the projector.
    if (parentId === null || depth > MAX_INHERITANCE_DEPTH + 5) return { effective: inheritEffective(null, own), parentUnavailable: false };
    const parentEvents = cut(await eventsOf(parentId), limit);
    const parent = fold(parentEvents);
    if (parent.status === 'absent') return { effective: inheritEffective(null, own), parentUnavailable: false };
    if (visibleTo(parent, template.ownerTenantId)) {
      const inherited = await effectiveAt(parentId, limit, depth + 1);
      return { effective: inheritEffective(inherited?.effective ?? null, own), parentUnavailable: false };
    }
    // Hidden: the child keeps what it received up to the last event that hid the parent from its tenant
    // after the link was made; linked while already hidden, it received nothing.
    const link = events.findLast((event) => event.type === 'TemplateCreated' || event.type === 'TemplateParentChanged')!;
    let hiddenBy: RecordedEvent | undefined;
    let before = templateDecider.initialState();
    for (const event of parentEvents) {
      const after = templateDecider.evolve(before, { type: event.type, data: event.data } as TemplateEvent);
      if (
        comparePositions(event.position, link.position) > 0 &&
        visibleTo(before, template.ownerTenantId) &&
        !visibleTo(after, template.ownerTenantId)
      )
        hiddenBy = event;
      before = after;
    }
    const inherited = hiddenBy ? await effectiveAt(parentId, hiddenBy.position, depth + 1) : undefined;
    return { effective: inheritEffective(inherited?.effective ?? null, own), parentUnavailable: true };
  };

  const { effective, parentUnavailable } = (await effectiveAt(templateId, undefined, 1))!;
  return {
    templateId,
    ownerTenantId: state.ownerTenantId,
    name: state.content.name,
    description: state.content.description,
    categoryId: state.content.categoryId,
    templateType: state.content.templateType,
    status: state.status,
    parentTemplateId: state.parentTemplateId,
    isPublic: state.content.isPublic,
    isSystemTemplate: state.isSystemTemplate,
    version: state.version,
    revision: Number(ownEvents.at(-1)!.revision),
    content: state.content,
    effective,
    parentUnavailable,
  };
}
