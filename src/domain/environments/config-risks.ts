// Warnings for risky values anywhere in a config or a service spec: `latest` (or missing) image tags,
// containers without resource limits, privileged containers, secret-looking values in plain environment
// variables or plain config data. Warnings, not errors: each may be deliberate.
import type { Finding } from './config-variables.js';

const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth)/i;
/** A reference to a value kept elsewhere (`${VAR}`, `{{ var }}`, `secretRef:`) is not a secret in the clear. */
const REFERENCE = /^(\$\{[^}]+\}|\{\{[^}]+\}\}|secret(Ref|KeyRef)?:.*)$/;

/** An image reference that floats: tagged `latest`, or with neither tag nor digest. */
export function floatingImageTag(image: string): boolean {
  if (image.includes('@')) return false;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon === -1 || last.slice(colon + 1) === 'latest';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function plainSecretEnv(env: unknown, at: string): Finding[] {
  const entries: [string, unknown, string][] = Array.isArray(env)
    ? env.flatMap((e, i) =>
        isObject(e) && typeof e.name === 'string' ? [[e.name, e.value, `${at}.${i}.value`] as [string, unknown, string]] : [],
      )
    : isObject(env)
      ? Object.entries(env).map(([name, value]) => [name, value, `${at}.${name}`] as [string, unknown, string])
      : [];
  return entries
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value !== '' && !REFERENCE.test(value))
    .map(([name, , field]) => ({
      field,
      rule: 'env.plain_secret',
      message: `${name} looks like a secret in a plain environment variable; use a secret config`,
    }));
}

/** Walks any JSON value; `path` is the dotted field path of `value`. */
export function riskyValues(value: unknown, path = ''): Finding[] {
  const join = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (Array.isArray(value)) return value.flatMap((item, i) => riskyValues(item, join(i)));
  if (!isObject(value)) return [];
  const found: Finding[] = [];
  if (typeof value.image === 'string') {
    if (floatingImageTag(value.image))
      found.push({
        field: join('image'),
        rule: 'image.floating_tag',
        message: `${value.image} floats (latest or no tag); pin a version or digest`,
      });
    const resources = value.resources;
    const limited =
      isObject(resources) && (isObject(resources.limits) || resources.cpuMillis !== undefined || resources.memoryMb !== undefined);
    if (!limited)
      found.push({
        field: join('resources'),
        rule: 'resources.missing_limits',
        message: 'no CPU/memory limits: one container can starve the others',
      });
  }
  if (value.privileged === true)
    found.push({ field: join('privileged'), rule: 'security.privileged', message: 'a privileged container has the host’s powers' });
  if (Object.hasOwn(value, 'env')) found.push(...plainSecretEnv(value.env, join('env')));
  for (const [key, child] of Object.entries(value)) if (key !== 'env') found.push(...riskyValues(child, join(key)));
  return found;
}

/** Warnings for one value of a flat config, naming its key and what it holds. */
function riskyValue(type: string, key: string, value: string): Finding[] {
  const found: Finding[] = [];
  if (type !== 'secret' && SECRET_NAME.test(key) && value !== '' && !REFERENCE.test(value))
    found.push({ field: `data.${key}`, rule: 'env.plain_secret', message: `${key} looks like a secret in a ${type}; use a secret config` });
  if (/^[\w.\-/]+:latest$/.test(value))
    found.push({ field: `data.${key}`, rule: 'image.floating_tag', message: `${value} floats; pin a version` });
  if (/^\s*[[{]/.test(value)) {
    try {
      found.push(...riskyValues(JSON.parse(value), `data.${key}`));
    } catch {
      // not JSON: nothing more to look into
    }
  }
  return found;
}

/** What a warning about a secret's value says: its key and the rule, nothing taken from the value (not
 * the value, not a name or a path inside it). */
const SECRET_FINDINGS: Readonly<Record<string, string>> = {
  'image.floating_tag': 'an image reference in this secret floats (latest or no tag); pin a version or digest',
  'resources.missing_limits': 'a container spec in this secret has no CPU/memory limits',
  'security.privileged': 'a container spec in this secret is privileged',
};

function secretSafe(key: string, findings: readonly Finding[]): Finding[] {
  const rules = new Set(findings.map((f) => f.rule).filter((rule) => Object.hasOwn(SECRET_FINDINGS, rule)));
  return [...rules].map((rule) => ({ field: `data.${key}`, rule, message: SECRET_FINDINGS[rule]! }));
}

/** Warnings for a flat config's values (what a configmap, secret or environment config holds). A secret's
 * warnings are born masked: a value sealed in the store must not come back in a warning. */
export function riskyConfigData(type: string, data: Readonly<Record<string, string>>): Finding[] {
  return Object.entries(data).flatMap(([key, value]) =>
    type === 'secret' ? secretSafe(key, riskyValue(type, key, value)) : riskyValue(type, key, value),
  );
}

/** Warnings for any config or service spec (JSON): flat string `data` is read as a config of its `type`;
 * under `type: secret`, nothing found inside `data` is named beyond its top-level key. */
export function riskyConfig(config: Readonly<Record<string, unknown>>): Finding[] {
  const { data, ...rest } = config;
  const type = typeof config.type === 'string' ? config.type : 'configmap';
  if (!isObject(data)) return riskyValues(config);
  const flat = Object.values(data).every((v) => typeof v === 'string');
  const inData = flat
    ? riskyConfigData(type, data as Record<string, string>)
    : type === 'secret'
      ? Object.entries(data).flatMap(([key, value]) => secretSafe(key, riskyValues(value, `data.${key}`)))
      : riskyValues(data, 'data');
  return [...inData, ...riskyValues(rest)];
}
