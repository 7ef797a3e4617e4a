// The status lifecycle of a course template.
//
//   draft ──► active ──► deprecated
//     │         │  ▲         │
//     │         │  └─────────┤        (deprecated → active: un-deprecate)
//     ▼         ▼            ▼
//   archived ◄──┴────────────┘
//     │
//     └──► draft                      (UnarchiveTemplate: back to draft, to be reviewed and re-activated)
//
// A command whose target is the current status is a no-op (emits nothing), so retries are harmless.
// Any other transition missing from the table is refused with 'template.status.transition' (conflict).
// Archived templates cannot be updated, re-parented, restored, tagged, favorited or used ('template.archived').
// Usage can be recorded for active and deprecated templates (deprecated ones still serve existing course
// flows; both outcomes allowed); for a draft it is refused with 'template.usage.status' (conflict).
import { RuleViolation, resourceState } from '../rule-violation.js';
import type { TemplateStatus } from './template-content.js';

export const TEMPLATE_STATUS_TRANSITIONS: Readonly<Record<TemplateStatus, readonly TemplateStatus[]>> = {
  draft: ['active', 'archived'],
  active: ['deprecated', 'archived'],
  deprecated: ['active', 'archived'],
  archived: ['draft'],
};

/** The command that moves a template into each status. */
export const STATUS_COMMAND = {
  active: 'ActivateTemplate',
  archived: 'ArchiveTemplate',
  deprecated: 'DeprecateTemplate',
  draft: 'UnarchiveTemplate',
} as const satisfies Record<TemplateStatus, string>;

/** The statuses in which a template may be used to make courses. */
export const USABLE_STATUSES: readonly TemplateStatus[] = ['active', 'deprecated'];

export const templateArchived = () =>
  new RuleViolation(
    'template.archived',
    'an archived template cannot change or be used; unarchive it first',
    'conflict',
    resourceState('status'),
  );

export function canTransition(from: TemplateStatus, to: TemplateStatus): boolean {
  return TEMPLATE_STATUS_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: TemplateStatus, to: TemplateStatus): void {
  if (!canTransition(from, to)) {
    throw new RuleViolation('template.status.transition', `a ${from} template cannot become ${to}`, 'conflict', resourceState('status'));
  }
}

/**
 * The shortest chain of allowed status moves from `from` to `to` (the lifecycle is a small graph): what
 * a restore or a batch undo runs to bring a template back to an earlier status.
 */
export function statusPath(from: TemplateStatus, to: TemplateStatus): TemplateStatus[] {
  if (from === to) return [];
  const previous = new Map<TemplateStatus, TemplateStatus>([[from, from]]);
  const queue: TemplateStatus[] = [from];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const next of TEMPLATE_STATUS_TRANSITIONS[at]) {
      if (previous.has(next)) continue;
      previous.set(next, at);
      if (next === to) {
        const path: TemplateStatus[] = [];
        for (let step: TemplateStatus = to; step !== from; step = previous.get(step)!) path.unshift(step);
        return path;
      }
      queue.push(next);
    }
  }
  return [];
}
