// A secret config template's data and defaults are sealed as one value: what is stored holds none of them, and
// opening gives back exactly the template that was sealed — for any data and any variable names, also ones that
// name Object.prototype members. Other types pass through unchanged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  openTemplateSecrets,
  sealTemplateSecrets,
  templateDataKeys,
  type ConfigTemplateDefinition,
  type SealedData,
} from '../../../src/domain/environments/index.js';

// A stand-in cipher that keeps the plaintext out of the sealed value's text (reversed base64).
const seal = (plaintext: string): SealedData => ({
  keyId: 'kek-test',
  wrappedKey: 'w',
  ciphertext: [...Buffer.from(plaintext).toString('base64')].reverse().join(''),
});
const open = (sealed: SealedData) => Buffer.from([...sealed.ciphertext].reverse().join(''), 'base64').toString();

const name = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
);
const secretText = fc.string({ minLength: 8, maxLength: 20 }).map((s) => `S3CR3T${s}`);
const definition = (configType: ConfigTemplateDefinition['configType']) =>
  fc
    .record({
      data: fc.dictionary(name, secretText, { maxKeys: 5 }),
      variables: fc.uniqueArray(fc.record({ name, default: fc.option(secretText, { nil: undefined }) }), {
        selector: (v) => v.name,
        maxLength: 4,
      }),
    })
    .map(({ data, variables }): ConfigTemplateDefinition => ({
      name: 'tpl',
      description: '',
      configType,
      data,
      variables: variables.map((v) => ({
        name: v.name,
        type: 'string' as const,
        required: false,
        ...(v.default === undefined ? {} : { default: v.default }),
      })),
    }));

describe('secret config template sealing', () => {
  it('stores none of the data values or defaults, and opens back to the same template', () => {
    fc.assert(
      fc.property(definition('secret'), (plain) => {
        const stored = sealTemplateSecrets(plain, seal);
        const text = JSON.stringify(stored);
        for (const value of Object.values(plain.data)) expect(text).not.toContain(value);
        for (const v of plain.variables) if (v.default !== undefined) expect(text).not.toContain(String(v.default));
        expect(stored.data).toEqual({});
        expect(templateDataKeys(stored)).toEqual(Object.keys(plain.data).sort());
        expect(stored.variables.map((v) => v.defaultSealed === true)).toEqual(plain.variables.map((v) => v.default !== undefined));
        expect(openTemplateSecrets(stored, open)).toEqual(plain);
        // Sealing what is already sealed changes nothing (no double seal).
        expect(sealTemplateSecrets(stored, seal)).toBe(stored);
      }),
    );
  });

  it('leaves other types and unsealed (older) templates as they are', () => {
    fc.assert(
      fc.property(fc.constantFrom('configmap' as const, 'environment' as const), (type) => {
        const plain: ConfigTemplateDefinition = { name: 't', description: '', configType: type, data: { A: 'x' }, variables: [] };
        expect(sealTemplateSecrets(plain, seal)).toBe(plain);
        expect(openTemplateSecrets(plain, open)).toBe(plain);
      }),
    );
  });
});
