// The container files, checked as far as a machine without a Docker daemon can (#7.20, #7.24): the compose
// file must start as written, and the image must run built JavaScript without dev tooling as a non-root
// user. Docker's own parser is not here, so these read the files with a YAML parser and by Dockerfile line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from './processes.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number>;
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const app = compose.services.app!;

/** Dockerfile instructions per stage, continuation lines joined. */
function dockerfileStages(): { from: string; instructions: { keyword: string; args: string }[] }[] {
  const text = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: { from: string; instructions: { keyword: string; args: string }[] }[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') stages.push({ from: args!, instructions: [] });
    else stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
  }
  return stages;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('docker-compose.yml', () => {
  it('has a healthcheck for every service', () => {
    const without = services.filter(([, service]) => !service.healthcheck).map(([name]) => name);
    expect(without).toEqual([]);
  });

  it('pins every image to a release (no :latest, no bare name); MinIO to a dated RELEASE tag', () => {
    for (const [name, service] of services) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/:[^:/]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(compose.services.minio!.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
  });

  it('sets only variables the service reads', () => {
    const sources = sourceFiles(join(projectRoot, 'src'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unread = Object.keys(app.environment ?? {}).filter((name) => !new RegExp(`\\b${name}\\b`).test(sources));
    expect(unread, 'set in docker-compose.yml but read by nothing in src/').toEqual([]);
  });

  it('waits only on healthy dependencies, and the app checks its own /health with node (the image has no curl)', () => {
    for (const [dependency, { condition }] of Object.entries(app.depends_on ?? {})) {
      expect(condition, dependency).toBe('service_healthy');
      expect(compose.services[dependency]?.healthcheck, dependency).toBeDefined();
    }
    const test = [app.healthcheck!.test].flat().join(' ');
    expect(test).toMatch(/\bnode\b/);
    expect(test).toContain('/health');
    expect(test).not.toMatch(/\b(curl|wget)\b/);
  });

  it('mounts the data volume where the image has a directory owned by the user it runs as', () => {
    const dataDir = String(app.environment?.DATA_DIR);
    const mount = (app.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === dataDir);
    expect(mount, `a volume mounted at DATA_DIR=${dataDir}`).toBeDefined();
    // A named volume starts as a copy of the image's directory, owner included; a directory the image
    // lacks is created root-owned and the app (user node) cannot write its bootstrap key there.
    const runtime = dockerfileStages().at(-1)!;
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    const prepared = runtime.instructions.some(
      (i) =>
        i.keyword === 'RUN' &&
        new RegExp(`mkdir -p [^&;]*${dataDir}\\b`).test(i.args) &&
        new RegExp(`chown [^&;]*${user}(:${user})? [^&;]*${dataDir}\\b`).test(i.args),
    );
    expect(prepared, `the runtime stage creates ${dataDir} owned by ${user}`).toBe(true);
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const runtime = stages.at(-1)!;
  const runs = (stage: typeof runtime) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

  it('builds JavaScript in a build stage and runs node on it in a runtime stage without dev dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.slice(0, -1).some((stage) => runs(stage).some((r) => /npm run build\b/.test(r)))).toBe(true);
    expect(runs(runtime).some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && /--from=\S+ \S*dist\b/.test(i.args))).toBe(true);
    const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1)!.args;
    expect(JSON.parse(cmd)).toEqual(['node', 'dist/main.js']);
    expect(runtime.instructions.map((i) => i.args).join('\n')).not.toMatch(/\b(tsx|npx)\b/);
  });

  it('runs as a non-root user with a HEALTHCHECK that uses node against /health', () => {
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/CMD .*\bnode\b.*fetch\(.*\/health/);
  });

  it('keeps local build output and data out of the build context', () => {
    const ignored = readFileSync(join(projectRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const path of ['node_modules', 'dist', 'data']) expect(ignored).toContain(path);
  });
});
