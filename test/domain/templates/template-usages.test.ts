// Usages of a template: every usage is recorded in the template's usage stream, with the version used; the
// template's own state decides whether it may be used at all.
import { describe, expect, it } from 'vitest';
import {
  assertUsable,
  templateDecider,
  templateUsageDecider,
  type TemplateEvent,
  type TemplateState,
  type TemplateUsageCommand,
  type TemplateUsageEvent,
} from '../../../src/domain/templates/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

const TEMPLATE = '0b7c2a52-6f0e-4d7e-9a39-3f4f5e0f1c11';
const COURSE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const { given, stateAfter } = deciderSpec(templateUsageDecider);

const use = (data: Record<string, unknown> = {}): TemplateUsageCommand => ({
  type: 'RecordTemplateUsage',
  data: {
    templateId: TEMPLATE,
    templateVersion: 1,
    usageType: 'create_course',
    customizations: {},
    outcome: 'success',
    usedBy: 'user-1',
    ...data,
  } as never,
});
const recorded = (data: Record<string, unknown> = {}): TemplateUsageEvent =>
  ({
    type: 'TemplateUsageRecorded',
    data: {
      usageType: 'create_course',
      customizations: {},
      outcome: 'success',
      errorMessage: null,
      usedBy: 'user-1',
      courseId: null,
      templateVersion: 1,
      templateId: TEMPLATE,
      ...data,
    },
  }) as TemplateUsageEvent;

/** A chain of JSON objects nested `depth` levels (the outer object counts as 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

const templateAfter = (...events: TemplateEvent[]): TemplateState => deciderSpec(templateDecider).stateAfter(events);
const [created] = templateDecider.decide(
  { type: 'CreateTemplate', data: { templateId: TEMPLATE, ownerTenantId: 'acme', name: 'Yoga', templateType: 'base' } },
  templateDecider.initialState(),
);
const activated: TemplateEvent = { type: 'TemplateActivated', data: { from: 'draft' } };
const deprecated: TemplateEvent = { type: 'TemplateDeprecated', data: { from: 'active' } };
const archived: TemplateEvent = { type: 'TemplateArchived', data: { from: 'draft' } };

describe('Template usage decider', () => {
  it('records every usage, with the version used', () => {
    given()
      .when(use({ customizations: { room: 'B' }, courseId: COURSE }))
      .then([recorded({ customizations: { room: 'B' }, courseId: COURSE })]);
    given(recorded())
      .when(use({ usageType: 'bulk_create', outcome: 'error', errorMessage: 'room taken' }))
      .then([recorded({ usageType: 'bulk_create', outcome: 'error', errorMessage: 'room taken' })]);
    given()
      .when(use({ usageType: 'schedule_generation', templateVersion: 2 }))
      .then([recorded({ usageType: 'schedule_generation', templateVersion: 2 })]);
  });

  it('checks the usage data', () => {
    given()
      .when(use({ usageType: 'clone' }))
      .thenRefuses('template.usage.type', 'invalid', 'usageType');
    given()
      .when(use({ outcome: 'maybe' }))
      .thenRefuses('template.usage.outcome', 'invalid', 'outcome');
    given()
      .when(use({ errorMessage: 'oops' }))
      .thenRefuses('template.usage.error_message', 'invalid', 'errorMessage');
    given()
      .when(use({ outcome: 'error', errorMessage: 'x'.repeat(2001) }))
      .thenRefuses('template.usage.error_message', 'invalid', 'errorMessage');
    given()
      .when(use({ usedBy: '' }))
      .thenRefuses('template.user_id.format', 'invalid', 'usedBy');
    given()
      .when(use({ courseId: 'c1' }))
      .thenRefuses('template.usage.course_id', 'invalid', 'courseId');
    given()
      .when(use({ customizations: nested(17) }))
      .thenRefuses('template.properties.depth', 'invalid', 'customizations');
  });

  it('counts successful and failed usages apart', () => {
    expect(stateAfter([recorded(), recorded(), recorded({ outcome: 'error', errorMessage: 'x' })])).toEqual({
      usageCount: 2,
      failedUsageCount: 1,
    });
  });
});

describe('assertUsable', () => {
  it('lets active and deprecated templates be used', () => {
    expect(() => assertUsable(templateAfter(created!, activated))).not.toThrow();
    expect(() => assertUsable(templateAfter(created!, activated, deprecated))).not.toThrow();
  });

  it('refuses missing, draft and archived templates', () => {
    expect(refusal(() => assertUsable(templateAfter()))).toMatchObject({ rule: 'template.not_found', kind: 'not_found' });
    expect(refusal(() => assertUsable(templateAfter(created!)))).toMatchObject({
      rule: 'template.usage.status',
      kind: 'conflict',
      field: 'resource.status',
    });
    expect(refusal(() => assertUsable(templateAfter(created!, archived)))).toMatchObject({ rule: 'template.archived', kind: 'conflict' });
  });
});
