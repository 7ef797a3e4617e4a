// Template rules that read other aggregates' streams (never a read model, which may lag):
// - a template's category is an active category of the caller's tenant;
// - the participant bounds the template ends up with after inheritance keep min ≤ max.
// Both refuse with 422: the request is well-formed but names or inherits something it cannot use.
// They are checked before the template's own append; a category archived or a parent changed between
// the check and that append is not caught (there is no transaction across streams).
import { categoryDecider, categoryStreamId } from '../../domain/categories/index.js';
import { RuleViolation } from '../../domain/rule-violation.js';
import {
  MAX_INHERITANCE_DEPTH,
  templateDecider,
  templateStreamId,
  validateEffectiveParticipants,
  type TemplateContent,
  type TemplateState,
} from '../../domain/templates/index.js';
import { loadAggregate, type CommandContext, type CommandDeps } from '../handle-command.js';

/** Refuses a category that is missing, another tenant's (read as missing) or archived. */
export async function checkTemplateCategory(
  deps: CommandDeps,
  context: CommandContext,
  categoryId: string | null | undefined,
): Promise<void> {
  if (categoryId === null || categoryId === undefined) return;
  const loaded = await loadAggregate(deps, categoryDecider, categoryStreamId(context.tenantId, categoryId), {
    tenantId: context.tenantId,
  }).catch((error: unknown) => {
    if (error instanceof RuleViolation && error.kind === 'not_found') return undefined;
    throw error;
  });
  const state = loaded?.state ?? { status: 'absent' as const };
  if (state.status === 'absent')
    throw new RuleViolation('template.category.not_found', 'no such category in your tenant', 'unprocessable', 'categoryId');
  if (state.status === 'archived')
    throw new RuleViolation(
      'template.category.archived',
      'the category is archived; restore it or pick another',
      'unprocessable',
      'categoryId',
    );
}

type Bounds = Pick<TemplateContent, 'defaultMinParticipants' | 'defaultMaxParticipants'>;

/** The content of `parentTemplateId` and its ancestors, root first, read from their streams. */
async function ancestorBounds(deps: CommandDeps, context: CommandContext, parentTemplateId: string): Promise<Bounds[]> {
  const chain: Bounds[] = [];
  const seen = new Set<string>();
  for (let next: string | null = parentTemplateId.toLowerCase(); next !== null && !seen.has(next) && seen.size <= MAX_INHERITANCE_DEPTH;) {
    seen.add(next);
    // Whatever the ancestor's tenant: what it passes down counts (as in the projector); no value is disclosed.
    const { state }: { state: TemplateState } = await loadAggregate(deps, templateDecider, templateStreamId(next), {
      tenantId: context.tenantId,
      access: () => true,
    });
    if (state.status === 'absent') break;
    chain.unshift(state.content);
    next = state.parentTemplateId;
  }
  return chain;
}

/**
 * Refuses when `own` bounds under `parentTemplateId` give an effective minimum above the effective
 * maximum. With both bounds set, or no parent, the template's own rule (min ≤ max) already decides.
 */
export async function checkInheritedParticipants(
  deps: CommandDeps,
  context: CommandContext,
  parentTemplateId: string | null,
  own: Bounds,
  field: string,
): Promise<void> {
  if (parentTemplateId === null) return;
  if (own.defaultMinParticipants !== null && own.defaultMaxParticipants !== null) return;
  // Inheriting both: the template says what its parent says, which was checked when the parent was
  // written; only a new parent is worth checking then.
  if (own.defaultMinParticipants === null && own.defaultMaxParticipants === null && field !== 'parentTemplateId') return;
  validateEffectiveParticipants([...(await ancestorBounds(deps, context, parentTemplateId)), own], field);
}

/** The bounds a template would have after `changes`, and the field to blame if they clash. */
export function boundsAfter(state: TemplateState, changes: Partial<Bounds>): { own: Bounds; field: string | undefined } {
  const current: Bounds = state.status === 'absent' ? { defaultMinParticipants: null, defaultMaxParticipants: null } : state.content;
  const own: Bounds = {
    defaultMinParticipants: changes.defaultMinParticipants !== undefined ? changes.defaultMinParticipants : current.defaultMinParticipants,
    defaultMaxParticipants: changes.defaultMaxParticipants !== undefined ? changes.defaultMaxParticipants : current.defaultMaxParticipants,
  };
  // Blame a value that was set over one that was cleared (null: inherit) or left out.
  const given = (['defaultMinParticipants', 'defaultMaxParticipants'] as const).filter((key) => changes[key] !== undefined);
  const field = given.find((key) => changes[key] !== null) ?? given[0];
  return { own, field };
}
