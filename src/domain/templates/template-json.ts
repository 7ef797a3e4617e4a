// Pure helpers for the JSON objects a template carries (dynamicProperties, validationRules,
// uiConfiguration, usage customizations): limits, structural checks, copying and equality.
//
// `__proto__` safety: JSON.parse makes `__proto__` an ordinary own key, and so do our helpers. We never
// write with `obj[key] = value` (which for `__proto__` would replace the prototype instead): every write
// goes through `setOwn` (Object.defineProperty), and every read checks `Object.hasOwn` first, so a key
// named `__proto__`, `constructor` or `toString` is data like any other, and no prototype is ever touched.
import type { JsonObject, JsonValue } from '../json.js';
import { RuleViolation } from '../rule-violation.js';

export type { JsonObject, JsonValue };

/** Largest JSON object a template field may hold, in UTF-8 bytes of its `JSON.stringify` form (64 KiB). */
export const TEMPLATE_JSON_MAX_BYTES = 64 * 1024;
/** Deepest nesting of a template JSON field: the object itself is level 1, each nested object/array +1. */
export const TEMPLATE_JSON_MAX_DEPTH = 16;

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Defines an own, enumerable data property: safe for any key, `__proto__` included. */
export function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The own value of `key`, or undefined: never reads through the prototype chain. */
export function getOwn(source: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(source, key) ? source[key] : undefined;
}

/** A deep copy sharing nothing with its input. */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => cloneJson(item)) as T;
  if (isPlainObject(value)) {
    const copy: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(copy, key, cloneJson(value[key] as JsonValue));
    return copy as T;
  }
  return value;
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/** Nesting depth of a JSON value (scalars 0, `{}` 1); stops counting once past `limit`. */
export function jsonDepth(value: unknown, limit = TEMPLATE_JSON_MAX_DEPTH): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit < 0) return 1;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) {
    deepest = Math.max(deepest, jsonDepth(child, limit - 1));
    if (deepest > limit) break;
  }
  return 1 + deepest;
}

/** Whether a value is made only of JSON (finite numbers, strings, booleans, null, arrays, plain objects). */
function isJson(value: unknown, depthLeft: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depthLeft <= 0) return true; // the depth rule reports this one
  if (Array.isArray(value)) return value.every((item) => isJson(item, depthLeft - 1));
  if (isPlainObject(value)) return Object.values(value).every((item) => isJson(item, depthLeft - 1));
  return false;
}

/** UTF-8 bytes of the JSON text, counted without an encoder (no imports, no I/O). */
export function jsonByteSize(value: JsonValue): number {
  const text = JSON.stringify(value);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Checks a template JSON field: a plain object ('template.properties.type'), nesting at most
 * TEMPLATE_JSON_MAX_DEPTH ('template.properties.depth'), at most TEMPLATE_JSON_MAX_BYTES serialized
 * ('template.properties.size'). Returns a deep copy.
 */
export function validJsonObject(value: unknown, field: string): JsonObject {
  if (!isPlainObject(value)) throw new RuleViolation('template.properties.type', `${field} must be a JSON object`, 'invalid', field);
  if (jsonDepth(value) > TEMPLATE_JSON_MAX_DEPTH) {
    throw new RuleViolation('template.properties.depth', `${field} must nest at most ${TEMPLATE_JSON_MAX_DEPTH} levels`, 'invalid', field);
  }
  if (!isJson(value, TEMPLATE_JSON_MAX_DEPTH + 1))
    throw new RuleViolation('template.properties.type', `${field} must hold JSON values only`, 'invalid', field);
  if (jsonByteSize(value) > TEMPLATE_JSON_MAX_BYTES) {
    throw new RuleViolation(
      'template.properties.size',
      `${field} must be at most ${TEMPLATE_JSON_MAX_BYTES} bytes as JSON`,
      'invalid',
      field,
    );
  }
  return cloneJson(value);
}
