// The Category aggregate: given events, when a command, then events (or a refused rule).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CATEGORY_NAME_MAX,
  assertCategoryExists,
  assertMayChangeCategory,
  assertValidCategoryCreate,
  categoryDecider,
  type CategoryCommand,
  type CategoryEvent,
} from '../../../src/domain/categories/index.js';
import { deciderSpec, refusal } from '../../support/decider-spec.js';

const ID = '0b7c2a52-6f0e-4d7e-9a39-3f4f5e0f1c11';
const created: CategoryEvent = { type: 'CategoryCreated', data: { categoryId: ID, name: 'Maths', description: 'Numbers' } };
const archived: CategoryEvent = { type: 'CategoryArchived', data: { name: 'Maths' } };

const { given, stateAfter } = deciderSpec(categoryDecider);

const create = (name: string, description = '', categoryId = ID): CategoryCommand => ({
  type: 'CreateCategory',
  data: { categoryId, name, description },
});
const rename = (name: string): CategoryCommand => ({ type: 'RenameCategory', data: { name } });
const describeAs = (description: string): CategoryCommand => ({ type: 'DescribeCategory', data: { description } });
const archive: CategoryCommand = { type: 'ArchiveCategory', data: {} };
const restore: CategoryCommand = { type: 'RestoreCategory', data: {} };

describe('Category decider', () => {
  describe('create', () => {
    it('creates with the name trimmed', () => {
      given().when(create('  Maths ', 'Numbers')).then([created]);
    });

    it('refuses to create twice, archived or not', () => {
      given(created).when(create('Other')).thenRefuses('category.exists', 'conflict');
      given(created, archived).when(create('Maths')).thenRefuses('category.exists', 'conflict');
    });

    it('refuses an id that is not a UUID', () => {
      given()
        .when(create('Maths', '', 'not-a-uuid'))
        .thenRefuses('category.id.format', 'invalid', 'categoryId');
    });

    it('refuses a description over 2000 characters', () => {
      given()
        .when(create('Maths', 'x'.repeat(2001)))
        .thenRefuses('category.description.length', 'invalid', 'description');
      given()
        .when(create('Maths', 'x'.repeat(2000)))
        .then([{ ...created, data: { ...created.data, description: 'x'.repeat(2000) } }]);
    });

    it('accepts a name exactly when it has 1 to 100 characters once trimmed', () => {
      const padding = fc.string({ unit: fc.constantFrom(' ', '\t', '\n'), maxLength: 3 });
      fc.assert(
        fc.property(padding, fc.string({ maxLength: 120 }), padding, (before, core, after) => {
          const raw = before + core + after;
          const trimmed = raw.trim();
          const valid = trimmed.length >= 1 && trimmed.length <= CATEGORY_NAME_MAX;
          if (valid)
            given()
              .when(create(raw))
              .then([{ type: 'CategoryCreated', data: { categoryId: ID, name: trimmed, description: '' } }]);
          else given().when(create(raw)).thenRefuses('category.name.length', 'invalid', 'name');
        }),
      );
      given()
        .when(create('x'.repeat(100)))
        .then([{ type: 'CategoryCreated', data: { categoryId: ID, name: 'x'.repeat(100), description: '' } }]);
      given()
        .when(create('x'.repeat(101)))
        .thenRefuses('category.name.length', 'invalid', 'name');
      given().when(create('   ')).thenRefuses('category.name.length', 'invalid', 'name');
    });
  });

  describe('changes', () => {
    it('refuses every change to a category that was never created', () => {
      for (const command of [rename('A'), describeAs('d'), archive, restore]) {
        given().when(command).thenRefuses('category.not_found', 'not_found');
      }
    });

    it('renames, remembering the previous name; the same name is no change', () => {
      given(created)
        .when(rename(' Algebra '))
        .then([{ type: 'CategoryRenamed', data: { name: 'Algebra', previousName: 'Maths' } }]);
      given(created).when(rename('Maths ')).then([]);
      given(created).when(rename('')).thenRefuses('category.name.length', 'invalid', 'name');
    });

    it('describes; the same description is no change', () => {
      given(created)
        .when(describeAs('All about numbers'))
        .then([{ type: 'CategoryDescribed', data: { description: 'All about numbers' } }]);
      given(created).when(describeAs('Numbers')).then([]);
    });

    it('refuses to rename or describe an archived category', () => {
      given(created, archived).when(rename('Algebra')).thenRefuses('category.archived', 'conflict');
      given(created, archived).when(describeAs('x')).thenRefuses('category.archived', 'conflict');
    });

    it('archives and restores, each at most once in a row', () => {
      given(created).when(archive).then([archived]);
      given(created, archived).when(archive).then([]);
      given(created, archived)
        .when(restore)
        .then([{ type: 'CategoryRestored', data: { name: 'Maths' } }]);
      given(created).when(restore).then([]);
    });

    it('carries the current name in archive and restore events after a rename', () => {
      const renamed: CategoryEvent = { type: 'CategoryRenamed', data: { name: 'Algebra', previousName: 'Maths' } };
      given(created, renamed)
        .when(archive)
        .then([{ type: 'CategoryArchived', data: { name: 'Algebra' } }]);
    });
  });

  it('folds events into the state', () => {
    expect(
      stateAfter([
        created,
        { type: 'CategoryRenamed', data: { name: 'Algebra', previousName: 'Maths' } },
        { type: 'CategoryDescribed', data: { description: 'Letters too' } },
        archived,
      ]),
    ).toEqual({ status: 'archived', categoryId: ID, name: 'Algebra', description: 'Letters too' });
    expect(stateAfter([created, archived, { type: 'CategoryRestored', data: { name: 'Maths' } }]).status).toBe('active');
    expect(stateAfter([])).toEqual({ status: 'absent' });
  });

  it('has named checks for the rules decide applies, for the command layer to run before a claim', () => {
    expect(() => assertValidCategoryCreate({ categoryId: ID, name: 'Maths', description: '' })).not.toThrow();
    expect(refusal(() => assertValidCategoryCreate({ categoryId: 'x', name: 'Maths', description: '' }))).toMatchObject({
      rule: 'category.id.format',
    });
    expect(refusal(() => assertCategoryExists(stateAfter([])))).toMatchObject({ rule: 'category.not_found', kind: 'not_found' });
    expect(() => assertMayChangeCategory(stateAfter([created]), { name: 'Algebra', description: 'x' })).not.toThrow();
    expect(refusal(() => assertMayChangeCategory(stateAfter([created, archived]), { name: 'Algebra' }))).toMatchObject({
      rule: 'category.archived',
    });
    expect(refusal(() => assertMayChangeCategory(stateAfter([created]), { name: ' ' }))).toMatchObject({ rule: 'category.name.length' });
    expect(refusal(() => assertMayChangeCategory(stateAfter([created]), { description: 'x'.repeat(2001) }))).toMatchObject({
      rule: 'category.description.length',
    });
  });
});
