// The template and category schemas take their limits from the domain: around each limit, a body the edge
// accepts is one the aggregate accepts, and the other way round (the edge's own stricter bounds aside).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categoryDecider, CATEGORY_DESCRIPTION_MAX, CATEGORY_NAME_MAX } from '../../../src/domain/categories/index.js';
import { RuleViolation } from '../../../src/domain/rule-violation.js';
import {
  TAG_TYPES,
  templateDecider,
  TEMPLATE_DESCRIPTION_MAX,
  TEMPLATE_DURATION_MAX,
  TEMPLATE_NAME_MAX,
  TEMPLATE_TAG_NAME_MAX,
  TEMPLATE_TAG_VALUE_MAX,
  TEMPLATE_TAGS_MAX,
} from '../../../src/domain/templates/index.js';
import { createBody as createCategoryBody } from '../../../src/http/categories/schemas.js';
import { createBody, searchQuery, updateBody } from '../../../src/http/templates/schemas.js';

const TEMPLATE_ID = '6f1c2d9e-4a3b-4c5d-8e7f-9a0b1c2d3e4f';

/** Whether the aggregate's own rules accept the value: a RuleViolation is a refusal, anything else a fault. */
const domainAccepts = (decide: () => unknown) => {
  try {
    decide();
    return true;
  } catch (error) {
    if (error instanceof RuleViolation) return false;
    throw error;
  }
};

const createdByDomain = (body: object) =>
  domainAccepts(() =>
    templateDecider.decide(
      { type: 'CreateTemplate', data: { templateType: 'base', name: 'Intro', ...body, templateId: TEMPLATE_ID, ownerTenantId: 'acme' } },
      templateDecider.initialState(),
    ),
  );
const createdByEdge = (body: object) => createBody.safeParse({ templateType: 'base', name: 'Intro', ...body }).success;

/** Text of a length near `limit`, padded with spaces at either end now and then (both sides trim names). */
const textNear = (limit: number) =>
  fc
    .record({ length: fc.integer({ min: Math.max(0, limit - 2), max: limit + 2 }), pad: fc.constantFrom('', ' ', '  ') })
    .map(({ length, pad }) => `${pad}${'n'.repeat(length)}${pad}`);

describe('template schemas against the template aggregate', () => {
  it('agree on names and descriptions around their limits', () => {
    fc.assert(
      fc.property(textNear(TEMPLATE_NAME_MAX), textNear(TEMPLATE_DESCRIPTION_MAX), (name, description) => {
        expect(createdByEdge({ name })).toBe(createdByDomain({ name }));
        expect(createdByEdge({ description })).toBe(createdByDomain({ description }));
      }),
    );
    expect(createdByEdge({ name: '   ' })).toBe(false);
    expect(createdByDomain({ name: '   ' })).toBe(false);
  });

  it('agree on tags: how many, name and value lengths, types', () => {
    const tag = fc.record({
      name: textNear(TEMPLATE_TAG_NAME_MAX),
      value: textNear(TEMPLATE_TAG_VALUE_MAX),
      type: fc.constantFrom(...TAG_TYPES),
    });
    fc.assert(
      fc.property(fc.integer({ min: TEMPLATE_TAGS_MAX - 1, max: TEMPLATE_TAGS_MAX + 1 }), tag, (count, sample) => {
        // Distinct names (duplicates are the domain's rule alone), all of the sample's shape.
        const tags = Array.from({ length: count }, (_, i) => ({ ...sample, name: i === 0 ? sample.name : `t${i}` }));
        expect(createdByEdge({ tags })).toBe(createdByDomain({ tags }));
      }),
      { numRuns: 50 },
    );
  });

  it('agree on the duration and the price currency', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: TEMPLATE_DURATION_MAX + 2 }),
        fc.constantFrom('EUR', 'usd', 'EU', 'EURO', 'CHF'),
        (defaultDuration, currency) => {
          expect(createdByEdge({ defaultDuration })).toBe(createdByDomain({ defaultDuration }));
          const defaultPrice = { amountMinor: 1999, currency };
          expect(createdByEdge({ defaultPrice })).toBe(createdByDomain({ defaultPrice }));
        },
      ),
    );
  });

  it('types an update as the aggregate’s changes, and wants at least one', () => {
    expect(updateBody.safeParse({}).success).toBe(false);
    expect(updateBody.parse({ name: ` ${'n'.repeat(TEMPLATE_NAME_MAX)} ` })).toEqual({ name: 'n'.repeat(TEMPLATE_NAME_MAX) });
    expect(updateBody.safeParse({ name: 'n'.repeat(TEMPLATE_NAME_MAX + 1) }).success).toBe(false);
  });

  it('searches tags by every tag type, with names as long as a tag name may be', () => {
    for (const type of TAG_TYPES) {
      expect(searchQuery.safeParse({ tags: `${type}:${'n'.repeat(TEMPLATE_TAG_NAME_MAX)}` }).success).toBe(true);
      expect(searchQuery.safeParse({ tags: `${type}:${'n'.repeat(TEMPLATE_TAG_NAME_MAX + 1)}` }).success).toBe(false);
    }
    expect(searchQuery.safeParse({ tags: 'colour:red' }).success).toBe(false);
  });
});

describe('category schemas against the category aggregate', () => {
  it('agree on names and descriptions around their limits', () => {
    const createdByDomain = (body: { name: string; description?: string }) =>
      domainAccepts(() =>
        categoryDecider.decide(
          { type: 'CreateCategory', data: { categoryId: TEMPLATE_ID, description: '', ...body } },
          categoryDecider.initialState(),
        ),
      );
    fc.assert(
      fc.property(textNear(CATEGORY_NAME_MAX), textNear(CATEGORY_DESCRIPTION_MAX), (name, description) => {
        expect(createCategoryBody.safeParse({ name }).success).toBe(createdByDomain({ name }));
        expect(createCategoryBody.safeParse({ name: 'Art', description }).success).toBe(createdByDomain({ name: 'Art', description }));
      }),
    );
  });
});
