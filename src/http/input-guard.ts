// One check at the HTTP edge for every body, query and path: text that no store can hold, and JSON nested
// deeper than any request needs. It walks the input with an explicit stack, before schema validation, so
// a 10,000-level body is refused here instead of overflowing a recursive validator (a 500).
// - NUL (U+0000): PostgreSQL text and jsonb cannot store it;
// - a lone UTF-16 surrogate (`"\ud800"` is valid JSON): not a Unicode character, refused by jsonb and by
//   UTF-8 encoders.
// Object keys are text too: `{"a\u0000": 1}` in a JSON field is refused like a value.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { FieldError } from './problem.js';
import { HttpProblem } from './problem.js';

/** The deepest nesting a request may have. JSON fields allow 16 levels (TEMPLATE_JSON_MAX_DEPTH) one or two
 * levels below the body; the rest is margin, so a field just past its own limit gets that field's rule. */
export const MAX_REQUEST_DEPTH = 32;

// eslint-disable-next-line no-control-regex -- finding NUL is the point
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether PostgreSQL (text, jsonb) and UTF-8 can hold `text`. */
export const isStorableText = (text: string): boolean => !BAD_TEXT.test(text);

/** Escapes what cannot be shown in a field name (the offending characters themselves). */
const printable = (text: string) =>
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  text.replace(/[\u0000-\u001f\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly key: string | undefined;
  readonly parent: Frame | undefined;
}

const pathOf = (frame: Frame): string[] => {
  const path: string[] = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
};

/** The first problem in `input` (`where` is `body`, `query` or `params`), or undefined. */
export function inspectInput(input: unknown, where: string): FieldError | undefined {
  const stack: Frame[] = [{ value: input, depth: 0, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value } = frame;
    if (typeof value === 'string') {
      if (BAD_TEXT.test(value)) return textError([where, ...pathOf(frame)].join('.'), 'a value');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const depth = frame.depth + 1;
    if (depth > MAX_REQUEST_DEPTH) {
      // Name the top-level field: the full path of a 10,000-level value would be the size of the body.
      const field = [where, ...pathOf(frame).slice(0, 1)].join('.');
      return { field, rule: 'json.depth', message: `nests deeper than ${MAX_REQUEST_DEPTH} levels (JSON fields allow 16)` };
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth, key: String(i), parent: frame });
      continue;
    }
    const keys = Object.keys(value);
    for (const key of keys) {
      if (BAD_TEXT.test(key)) return textError([where, ...pathOf(frame), printable(key)].join('.'), 'a key');
    }
    for (let i = keys.length - 1; i >= 0; i--)
      stack.push({ value: (value as Record<string, unknown>)[keys[i]!], depth, key: keys[i]!, parent: frame });
  }
  return undefined;
}

function textError(field: string, what: string): FieldError {
  return { field, rule: 'text.characters', message: `${what} holds a NUL character or a lone UTF-16 surrogate, which cannot be stored` };
}

async function inputGuardPlugin(app: FastifyInstance): Promise<void> {
  // preValidation: the body is parsed, the schema has not run yet.
  app.addHook('preValidation', async (request) => {
    for (const [where, input] of [
      ['params', request.params],
      ['query', request.query],
      ['body', request.body],
    ] as const) {
      const error = inspectInput(input, where);
      if (error) {
        const detail = error.rule === 'json.depth' ? `${error.field} ${error.message}` : `${error.field}: ${error.message}`;
        throw new HttpProblem(400, error.rule, detail, { errors: [error] });
      }
    }
  });
}

export const inputGuard = fp(inputGuardPlugin, { name: 'kyo-input-guard' });
