// A deployment's services as a release holds them: validated, normalized (every field present, no
// undefined, so the spec is plain JSON in events), and compared field by field for release diffs.
import { RuleViolation, collectViolations, type ViolationCollector } from '../rule-violation.js';

export const SERVICE_TYPES = ['frontend', 'backend', 'database', 'cache', 'queue'] as const;
export const VOLUME_KINDS = ['persistent', 'configmap', 'secret', 'emptydir'] as const;
export const PROTOCOLS = ['tcp', 'udp'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type VolumeKind = (typeof VOLUME_KINDS)[number];

export const DEPLOYMENT_LIMITS = {
  services: 20,
  nameMax: 63,
  replicasMax: 100,
  portsPerService: 20,
  envPerService: 200,
  volumesPerService: 20,
} as const;

export type PortSpec = { containerPort: number; hostPort: number | null; protocol: 'tcp' | 'udp' };
export type VolumeSpec = {
  name: string;
  kind: VolumeKind;
  mountPath: string;
  /** configmap / secret: the config's name; null otherwise. */
  source: string | null;
  /** persistent: requested size, e.g. `1Gi`. */
  size: string | null;
};
export type HealthCheck = {
  http: { path: string; port: number } | null;
  command: string[] | null;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
};
export type ServiceSpec = {
  name: string;
  type: ServiceType;
  image: string;
  replicas: number;
  ports: PortSpec[];
  env: { [key: string]: string };
  /** Configs (environment or configmap) whose keys become environment variables. */
  envFrom: string[];
  volumes: VolumeSpec[];
  command: string[] | null;
  resources: { cpuMillis: number | null; memoryMb: number | null };
  healthCheck: HealthCheck | null;
};

/** A service as a client sends it: optional fields default. */
export type ServiceInput = {
  name: string;
  type: ServiceType;
  image: string;
  replicas?: number;
  ports?: { containerPort: number; hostPort?: number | null; protocol?: 'tcp' | 'udp' }[];
  env?: Record<string, string>;
  envFrom?: string[];
  volumes?: { name: string; kind: VolumeKind; mountPath: string; source?: string | null; size?: string | null }[];
  command?: string[] | null;
  resources?: { cpuMillis?: number | null; memoryMb?: number | null };
  healthCheck?: {
    http?: { path: string; port: number } | null;
    command?: string[] | null;
    intervalSeconds?: number;
    timeoutSeconds?: number;
    healthyThreshold?: number;
    unhealthyThreshold?: number;
  } | null;
};

// The grammar of distribution/reference (what `docker pull` accepts): [domain[:port]/]path[:tag][@digest].
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);

/** Whether `image` is a valid image reference (`busybox`, `registry:5000/team/app:1.2`, `app@sha256:…`). */
export function isImageReference(image: string): boolean {
  const match = IMAGE_REFERENCE.exec(image);
  // A domain needs a dot, a port or `localhost` to be one; otherwise it is the path's first part, which
  // must then be lowercase (`Foo/bar` is refused by docker too).
  if (!match || match[1]!.length > 255) return false;
  const first = match[1]!.split('/')[0]!;
  const hasDomain = match[1]!.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasDomain || first === first.toLowerCase();
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SIZE = /^[1-9][0-9]{0,5}(Mi|Gi|Ti)$/;

const invalid = (field: string, rule: string, message: string) => new RuleViolation(`deployment.${rule}`, message, 'invalid', field);

/** A DNS label: names become container names, Kubernetes objects and label values. */
export function validName(value: string, field: string): string {
  if (value.length < 1 || value.length > DEPLOYMENT_LIMITS.nameMax || !DNS_LABEL.test(value)) {
    throw invalid(
      field,
      'name.format',
      `${field} must be 1–${DEPLOYMENT_LIMITS.nameMax} lowercase letters, digits or '-', starting and ending with a letter or digit`,
    );
  }
  return value;
}

function int(value: number, field: string, min: number, max: number, rule: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(field, rule, `${field} must be an integer from ${min} to ${max}`);
  return value;
}

/** The one rule for a replica count, wherever one enters (create, update, scale): every number that reaches
 * an orchestrator passes it, so no request can ask for 2,147,483,648 containers. */
export function validReplicas(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) throw invalid(field, 'replicas.min', `${field} must be an integer ≥ 0`);
  if (value > DEPLOYMENT_LIMITS.replicasMax)
    throw invalid(field, 'replicas.max', `${field} must be at most ${DEPLOYMENT_LIMITS.replicasMax}`);
  return value;
}

function healthCheckOf(
  input: NonNullable<ServiceInput['healthCheck']>,
  field: string,
  ports: PortSpec[],
  found: ViolationCollector,
): HealthCheck | undefined {
  const before = found.violations.length;
  const http = input.http ?? null;
  const command = input.command ?? null;
  if ((http === null) === (command === null))
    found.attempt(() => {
      throw invalid(field, 'health_check.kind', `${field} needs exactly one of http or command`);
    });
  if (http) {
    if (!http.path.startsWith('/') || http.path.length > 1024)
      found.attempt(() => {
        throw invalid(`${field}.http.path`, 'health_check.path', 'the health check path must start with /');
      });
    const port = found.attempt(() => int(http.port, `${field}.http.port`, 1, 65535, 'port.range'));
    if (port !== undefined && !ports.some((p) => p.containerPort === http.port)) {
      found.attempt(() => {
        throw invalid(`${field}.http.port`, 'health_check.port', `the health check port ${http.port} is not one of the service's ports`);
      });
    }
  }
  if (command && (command.length === 0 || command.some((part) => part.length === 0)))
    found.attempt(() => {
      throw invalid(`${field}.command`, 'health_check.command', 'the health check command must be non-empty');
    });
  const number = (value: number | undefined, fallback: number, name: string, min: number, max: number, rule: string) =>
    found.attempt(() => int(value ?? fallback, `${field}.${name}`, min, max, rule)) ?? fallback;
  const check: HealthCheck = {
    http: http && { path: http.path, port: http.port },
    command: command && [...command],
    intervalSeconds: number(input.intervalSeconds, 10, 'intervalSeconds', 1, 300, 'health_check.interval'),
    timeoutSeconds: number(input.timeoutSeconds, 5, 'timeoutSeconds', 1, 300, 'health_check.timeout'),
    healthyThreshold: number(input.healthyThreshold, 1, 'healthyThreshold', 1, 10, 'health_check.threshold'),
    unhealthyThreshold: number(input.unhealthyThreshold, 3, 'unhealthyThreshold', 1, 10, 'health_check.threshold'),
  };
  if (check.timeoutSeconds > check.intervalSeconds)
    found.attempt(() => {
      throw invalid(`${field}.timeoutSeconds`, 'health_check.timeout', 'the timeout must not exceed the interval');
    });
  return found.violations.length === before ? check : undefined;
}

/** One service checked whole: every violation goes to `found`; the spec only when it has none. */
function serviceOf(input: ServiceInput, field: string, found: ViolationCollector): ServiceSpec | undefined {
  const before = found.violations.length;
  const refuse = (at: string, rule: string, message: string) =>
    found.attempt(() => {
      throw invalid(at, rule, message);
    });
  found.attempt(() => validName(input.name, `${field}.name`));
  if (!(SERVICE_TYPES as readonly string[]).includes(input.type))
    refuse(`${field}.type`, 'service.type', `type must be one of ${SERVICE_TYPES.join(', ')}`);
  if (!isImageReference(input.image)) refuse(`${field}.image`, 'image.reference', `"${input.image}" is not a valid image reference`);
  const replicas = found.attempt(() => validReplicas(input.replicas ?? 1, `${field}.replicas`)) ?? 0;
  const ports: PortSpec[] = [];
  const seen = new Set<string>();
  for (const [index, port] of (input.ports ?? []).entries()) {
    const at = `${field}.ports.${index}`;
    const protocol = port.protocol ?? 'tcp';
    const containerPort = found.attempt(() => int(port.containerPort, `${at}.containerPort`, 1, 65535, 'port.range'));
    const hostPort = port.hostPort == null ? null : found.attempt(() => int(port.hostPort!, `${at}.hostPort`, 1, 65535, 'port.range'));
    if (containerPort === undefined || hostPort === undefined) continue;
    if (seen.has(`${protocol}/${containerPort}`))
      refuse(`${at}.containerPort`, 'port.clash', `port ${containerPort}/${protocol} is declared twice`);
    seen.add(`${protocol}/${containerPort}`);
    ports.push({ containerPort, hostPort, protocol });
  }
  const env = input.env ?? {};
  if (Object.keys(env).length > DEPLOYMENT_LIMITS.envPerService)
    refuse(`${field}.env`, 'env.count', `at most ${DEPLOYMENT_LIMITS.envPerService} variables`);
  for (const key of Object.keys(env))
    if (!ENV_NAME.test(key)) refuse(`${field}.env.${key}`, 'env.name', `${key} is not a valid variable name`);
  const volumes: VolumeSpec[] = [];
  const mounts = new Set<string>();
  for (const [index, volume] of (input.volumes ?? []).entries()) {
    const at = `${field}.volumes.${index}`;
    found.attempt(() => validName(volume.name, `${at}.name`));
    if (!volume.mountPath.startsWith('/')) refuse(`${at}.mountPath`, 'volume.mount_path', 'mountPath must be absolute');
    else if (mounts.has(volume.mountPath)) refuse(`${at}.mountPath`, 'volume.mount_clash', `${volume.mountPath} is mounted twice`);
    mounts.add(volume.mountPath);
    const needsSource = volume.kind === 'configmap' || volume.kind === 'secret';
    if (needsSource !== Boolean(volume.source))
      refuse(`${at}.source`, 'volume.source', `a ${volume.kind} volume ${needsSource ? 'names' : 'takes no'} source config`);
    if (volume.size != null && (volume.kind !== 'persistent' || !SIZE.test(volume.size)))
      refuse(`${at}.size`, 'volume.size', 'size is for persistent volumes, e.g. 1Gi');
    volumes.push({
      name: volume.name,
      kind: volume.kind,
      mountPath: volume.mountPath,
      source: volume.source ?? null,
      size: volume.size ?? null,
    });
  }
  const resource = (value: number | null | undefined, name: 'cpuMillis' | 'memoryMb', min: number, max: number) =>
    value == null ? null : (found.attempt(() => int(value, `${field}.resources.${name}`, min, max, 'resources.range')) ?? null);
  const resources = {
    cpuMillis: resource(input.resources?.cpuMillis, 'cpuMillis', 1, 256_000),
    memoryMb: resource(input.resources?.memoryMb, 'memoryMb', 4, 1_048_576),
  };
  const healthCheck = input.healthCheck ? healthCheckOf(input.healthCheck, `${field}.healthCheck`, ports, found) : null;
  if (found.violations.length > before || healthCheck === undefined) return undefined;
  return {
    name: input.name,
    type: input.type,
    image: input.image,
    replicas,
    ports,
    env: { ...env },
    envFrom: [...(input.envFrom ?? [])],
    volumes,
    command: input.command ? [...input.command] : null,
    resources,
    healthCheck,
  };
}

/** The environment's limits a release must stay within. */
export type Quotas = {
  maxReplicasPerService: number | null;
  maxTotalReplicas: number | null;
  cpuMillis: number | null;
  memoryMb: number | null;
};

/** Checks a release's services whole and collects every violation into `found` (naming each field:
 * `services.1.ports.0.hostPort`); the normalized services when there is none. No quota here: see servicesOf. */
export function checkServices(inputs: readonly ServiceInput[], found: ViolationCollector): ServiceSpec[] | undefined {
  const before = found.violations.length;
  if (inputs.length < 1 || inputs.length > DEPLOYMENT_LIMITS.services) {
    found.attempt(() => {
      throw invalid('services', 'services.count', `a deployment has 1–${DEPLOYMENT_LIMITS.services} services`);
    });
  }
  const services = inputs.slice(0, DEPLOYMENT_LIMITS.services).map((input, index) => serviceOf(input, `services.${index}`, found));
  const names = new Set<string>();
  const hostPorts = new Set<string>();
  for (const [index, service] of services.entries()) {
    if (!service) continue;
    if (names.has(service.name))
      found.attempt(() => {
        throw invalid(`services.${index}.name`, 'service.name.unique', `service name ${service.name} is used twice`);
      });
    names.add(service.name);
    for (const [portIndex, port] of service.ports.entries()) {
      if (port.hostPort === null) continue;
      const key = `${port.protocol}/${port.hostPort}`;
      if (hostPorts.has(key))
        found.attempt(() => {
          throw invalid(
            `services.${index}.ports.${portIndex}.hostPort`,
            'port.clash',
            `host port ${port.hostPort}/${port.protocol} is taken by another port of this deployment`,
          );
        });
      hostPorts.add(key);
    }
  }
  return found.violations.length === before ? (services as ServiceSpec[]) : undefined;
}

/** Validates and normalizes a release's services, then holds them to the environment's quotas. */
export function servicesOf(inputs: readonly ServiceInput[], quotas: Quotas): ServiceSpec[] {
  const found = collectViolations();
  const services = checkServices(inputs, found);
  found.throwIfAny();
  assertWithinQuotas(services!, quotas);
  return services!;
}

/** The environment's replica quotas (422: the spec is valid, the environment does not allow it). */
export function assertWithinQuotas(services: readonly ServiceSpec[], quotas: Quotas): void {
  for (const [index, service] of services.entries()) assertWithinQuota(service, quotas, `services.${index}.replicas`);
  const total = services.reduce((sum, service) => sum + service.replicas, 0);
  if (quotas.maxTotalReplicas !== null && total > quotas.maxTotalReplicas) {
    throw new RuleViolation(
      'deployment.replicas.quota',
      `the services ask for ${total} replicas; the environment allows ${quotas.maxTotalReplicas}`,
      'unprocessable',
      'services',
    );
  }
}

export function assertWithinQuota(service: Pick<ServiceSpec, 'replicas'>, quotas: Quotas, field: string): void {
  if (quotas.maxReplicasPerService !== null && service.replicas > quotas.maxReplicasPerService) {
    throw new RuleViolation(
      'deployment.replicas.quota',
      `replicas ${service.replicas} exceed the environment's quota of ${quotas.maxReplicasPerService} per service`,
      'unprocessable',
      field,
    );
  }
}

/** The configs a service names (envFrom and configmap/secret volumes), for reference checks and config rolls. */
export const configNamesOf = (service: ServiceSpec): string[] => [
  ...new Set([...service.envFrom, ...service.volumes.flatMap((v) => (v.source ? [v.source] : []))]),
];

const stable = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** Same instances apart from how many: a replica change alone is a scale, anything else a replacement. */
export const sameButReplicas = (a: ServiceSpec, b: ServiceSpec): boolean => stable({ ...a, replicas: 0 }) === stable({ ...b, replicas: 0 });

/** What changed from `before` to `after`, one line per change (`backend.image: a → b`). */
export function describeChanges(before: readonly ServiceSpec[], after: readonly ServiceSpec[]): string[] {
  const changes: string[] = [];
  const old = new Map(before.map((s) => [s.name, s]));
  for (const service of after) {
    const previous = old.get(service.name);
    if (!previous) {
      changes.push(`${service.name}: added`);
      continue;
    }
    for (const key of Object.keys(service) as (keyof ServiceSpec)[]) {
      const [a, b] = [stable(previous[key]), stable(service[key])];
      if (a !== b) changes.push(`${service.name}.${key}: ${a} → ${b}`);
    }
  }
  for (const name of old.keys()) if (!after.some((s) => s.name === name)) changes.push(`${name}: removed`);
  return changes;
}
