// GET /v1/templates/{id}?asOf=…: the template as it was at a moment, folded from its stream and its
// ancestors' streams. Inheritance follows the projector's rule (src/projections/templates/
// effective-templates.ts): a child receives its parent's effective content only while the parent is
// visible to the child's tenant; from the event that hid the parent on, the child keeps what it had
// received up to that event, and is flagged `parentUnavailable`.
import type { CommandDeps } from '../../commands/handle-command.js';
import { loadAggregate } from '../../commands/handle-command.js';
import { templateAccess } from '../../commands/templates.js';
import { comparePositions, type Position, type RecordedEvent } from '../../ports/event-store.js';
import {
  templateStreamId,
  inheritEffective,
  isVisibleTo,
  MAX_INHERITANCE_DEPTH,
  templateDecider,
  type EffectiveTemplate,
  type TemplateEvent,
  type TemplateState,
} from '../../domain/templates/index.js';
import { HttpProblem } from '../problem.js';

const fold = (events: readonly RecordedEvent[]) =>
  events.reduce<TemplateState>((state, event) => templateDecider.evolve(state, { type: event.type, data: event.data } as TemplateEvent), templateDecider.initialState());

const visibleTo = (state: TemplateState, tenantId: string) =>
  state.status !== 'absent' && isVisibleTo({ ownerTenantId: state.ownerTenantId, isPublic: state.content.isPublic, isSystemTemplate: state.isSystemTemplate }, tenantId);

export async function templateAsOf(deps: Pick<CommandDeps, 'eventStore' | 'upcasters'>, tenantId: string, templateId: string, asOf: Date) {
  const loaded = await loadAggregate(deps, templateDecider, templateStreamId(templateId), { tenantId, asOf, access: templateAccess });
  if (loaded.state.status === 'absent') throw new HttpProblem(404, 'template.not_found', 'no such template at that moment');
  const state = loaded.state;

  // Every stream read once, whole: which content flows is decided below by the rule, not by who reads.
  const streams = new Map<string, readonly RecordedEvent[]>([[templateId, loaded.events]]);
  const eventsOf = async (id: string) => {
    let events = streams.get(id);
    if (!events) {
      events = (await loadAggregate(deps, templateDecider, templateStreamId(id), { tenantId, access: () => true })).events;
      streams.set(id, events);
    }
    return events;
  };
  const asOfMs = asOf.getTime();
  /** The events up to `asOf`, and strictly before `limit` when given (a prefix, like loadAggregate's). */
  const cut = (events: readonly RecordedEvent[], limit: Position | undefined) => {
    const end = events.findIndex((event) => !(Date.parse(String(event.metadata.occurredAt)) <= asOfMs) || (limit !== undefined && comparePositions(event.position, limit) >= 0));
    return end === -1 ? events : events.slice(0, end);
  };

  const effectiveAt = async (id: string, limit: Position | undefined, depth: number): Promise<{ effective: EffectiveTemplate; parentUnavailable: boolean } | undefined> => {
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
      if (comparePositions(event.position, link.position) > 0 && visibleTo(before, template.ownerTenantId) && !visibleTo(after, template.ownerTenantId)) hiddenBy = event;
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
    revision: Number(loaded.revision ?? -1),
    content: state.content as unknown as Record<string, never>,
    effective: effective as unknown as Record<string, never>,
    parentUnavailable,
  };
}
