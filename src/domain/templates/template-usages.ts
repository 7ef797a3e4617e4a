// Usages of a template, appended to one stream per template beside the template's own (see
// template-streams.ts): every usage is recorded, with the template version it used. The rule that needs
// the template itself (only active and deprecated templates are used, see template-lifecycle.ts) is
// `assertUsable`, which the command layer runs on the template's state first.
import type { Decider } from '../decider.js';
import type { JsonObject } from '../json.js';
import { RuleViolation, resourceState } from '../rule-violation.js';
import { validJsonObject } from './template-json.js';
import { templateArchived } from './template-lifecycle.js';
import type { LiveTemplateState, TemplateState } from './template-state.js';
import { templateNotFound } from './template-tenancy.js';
import { TEMPLATE_ERROR_MESSAGE_MAX, validOptionalUuid, validUserId } from './template-validation.js';

export const USAGE_TYPES = ['create_course', 'bulk_create', 'schedule_generation'] as const;
export type UsageType = (typeof USAGE_TYPES)[number];
export const USAGE_OUTCOMES = ['success', 'error'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

export type RecordTemplateUsageData = {
  usageType: UsageType;
  customizations: JsonObject;
  outcome: UsageOutcome;
  errorMessage?: string | null; // only with outcome 'error'
  usedBy: string;
  courseId?: string | null;
};

export type TemplateUsageCommand = {
  type: 'RecordTemplateUsage';
  /** `templateVersion`: the version of the template used, read from its state by the command layer. */
  data: RecordTemplateUsageData & { templateId: string; templateVersion: number };
};

export type TemplateUsageRecordedData = {
  usageType: UsageType;
  customizations: JsonObject;
  outcome: UsageOutcome;
  errorMessage: string | null;
  usedBy: string;
  courseId: string | null;
  templateVersion: number;
  templateId: string;
};

export type TemplateUsageEvent = { type: 'TemplateUsageRecorded'; data: TemplateUsageRecordedData };

export const TEMPLATE_USAGE_EVENT_TYPES: readonly TemplateUsageEvent['type'][] = ['TemplateUsageRecorded'];

/** Successful usages; failed ones are counted apart. */
export type TemplateUsageState = { usageCount: number; failedUsageCount: number };

/** A template is used only while active or deprecated: archived and draft ones are refused. */
export function assertUsable(template: TemplateState): asserts template is LiveTemplateState {
  if (template.status === 'absent') throw templateNotFound();
  if (template.status === 'archived') throw templateArchived();
  if (template.status === 'draft')
    throw new RuleViolation(
      'template.usage.status',
      'a draft template cannot be used; activate it first',
      'conflict',
      resourceState('status'),
    );
}

function decide(command: TemplateUsageCommand): TemplateUsageEvent[] {
  const { data } = command;
  if (!(USAGE_TYPES as readonly unknown[]).includes(data.usageType)) {
    throw new RuleViolation('template.usage.type', `usageType must be one of ${USAGE_TYPES.join(', ')}`, 'invalid', 'usageType');
  }
  if (data.outcome !== 'success' && data.outcome !== 'error')
    throw new RuleViolation('template.usage.outcome', "outcome must be 'success' or 'error'", 'invalid', 'outcome');
  const errorMessage = data.errorMessage ?? null;
  if (
    errorMessage !== null &&
    (data.outcome === 'success' || typeof errorMessage !== 'string' || errorMessage.length > TEMPLATE_ERROR_MESSAGE_MAX)
  ) {
    throw new RuleViolation(
      'template.usage.error_message',
      `errorMessage goes only with outcome 'error', at most ${TEMPLATE_ERROR_MESSAGE_MAX} characters`,
      'invalid',
      'errorMessage',
    );
  }
  return [
    {
      type: 'TemplateUsageRecorded',
      data: {
        usageType: data.usageType,
        customizations: validJsonObject(data.customizations ?? {}, 'customizations'),
        outcome: data.outcome,
        errorMessage,
        usedBy: validUserId(data.usedBy, 'usedBy'),
        courseId: validOptionalUuid(data.courseId, 'template.usage.course_id', 'courseId'),
        templateVersion: data.templateVersion,
        templateId: data.templateId,
      },
    },
  ];
}

export const templateUsageDecider: Decider<TemplateUsageState, TemplateUsageCommand, TemplateUsageEvent> = {
  initialState: () => ({ usageCount: 0, failedUsageCount: 0 }),
  decide,
  evolve: (state, event) =>
    event.data.outcome === 'success'
      ? { ...state, usageCount: state.usageCount + 1 }
      : { ...state, failedUsageCount: state.failedUsageCount + 1 },
};
