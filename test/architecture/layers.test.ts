// The import picture of src/: each folder imports only the folders below it (the rules), no file takes
// part in an import cycle, and no file grows past 400 lines. Reads the sources; runs nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');
const MAX_LINES = 400;

/** What each layer may import besides itself and packages. A top-level file is a layer of its own. */
const RULES: Record<string, readonly string[]> = {
  domain: [],
  ports: ['domain'],
  commands: ['domain', 'ports'],
  subscriptions: ['domain', 'ports'],
  projections: ['domain', 'ports', 'subscriptions'],
  processes: ['domain', 'ports', 'subscriptions', 'commands'],
  adapters: ['domain', 'ports'],
  http: ['domain', 'ports', 'commands', 'projections'],
  config: [],
  features: ['domain', 'ports', 'commands', 'subscriptions', 'projections', 'processes', 'adapters', 'http', 'config'],
  service: ['domain', 'ports', 'commands', 'subscriptions', 'projections', 'processes', 'adapters', 'http', 'config', 'features'],
  main: ['adapters', 'config', 'service'],
  cli: ['domain', 'ports', 'adapters', 'config', 'commands'],
};

/**
 * Known exceptions, each removed by the part of issue 8 that fixes it (the test also fails once an entry is
 * no longer needed, so whoever fixes it deletes the line). Keys: `<importer> -> <imported>` for imports,
 * the file for lengths, the files of the cycle (sorted, joined by ' <> ') for cycles.
 */
const ALLOWED: Record<string, string> = {};

interface SourceFile {
  readonly path: string; // relative to the repository, e.g. src/http/app.ts
  readonly lines: number;
  readonly imports: readonly string[]; // resolved relative imports, same form
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function readSources(): SourceFile[] {
  return listFiles(src).map((file) => {
    const text = readFileSync(file, 'utf8');
    // preProcessFile sees every `import … from`, `export … from`, `import '…'` and dynamic import().
    const imports = ts
      .preProcessFile(text, true, true)
      .importedFiles.map((imported) => imported.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(root, resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
    return { path: relative(root, file), lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), imports };
  });
}

/** `src/<folder>/…` is that folder's layer; `src/service.ts` is the layer `service`. */
const layerOf = (path: string) => path.split('/')[1]!.replace(/\.ts$/, '');

/** Tarjan's strongly connected components: every component of more than one file is a cycle. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const sources = readSources();
const known = new Set(sources.map((file) => file.path));

// Every finding, before the exceptions are taken out.
const layerViolations = sources.flatMap((file) => {
  const from = layerOf(file.path);
  return file.imports
    .filter((imported) => layerOf(imported) !== from && !(RULES[from] ?? []).includes(layerOf(imported)))
    .map((imported) => `${file.path} -> ${imported}`);
});
const importCycles = cycles(new Map(sources.map((file) => [file.path, file.imports]))).map((component) => component.join(' <> '));
const longFiles = sources.filter((file) => file.lines > MAX_LINES).map((file) => `${file.path} (${file.lines} lines)`);
const notAllowed = (finding: string) => !(finding.split(' (')[0]! in ALLOWED);

describe('the import picture of src/', () => {
  it('has a rule for every folder', () => {
    expect([...new Set(sources.map((file) => layerOf(file.path)))].filter((layer) => !(layer in RULES))).toEqual([]);
  });

  it('imports only from the same layer or a layer below it', () => {
    expect(layerViolations.filter(notAllowed)).toEqual([]);
  });

  it('keeps the domain free of imports from outside it (never an exception)', () => {
    expect(layerViolations.filter((finding) => finding.startsWith('src/domain/'))).toEqual([]);
  });

  it('has no import cycle between files', () => {
    expect(importCycles.filter(notAllowed)).toEqual([]);
  });

  it(`has no file over ${MAX_LINES} lines`, () => {
    expect(longFiles.filter(notAllowed)).toEqual([]);
  });

  it('finds cycles, self-imports included, and nothing else', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', ['d']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b'], ['e']]);
  });

  it('resolves every relative import to a file in src/', () => {
    expect(
      sources.flatMap((file) => file.imports.filter((imported) => !known.has(imported)).map((imported) => `${file.path} -> ${imported}`)),
    ).toEqual([]);
  });

  it('lists only exceptions that still occur (delete an entry once its part lands)', () => {
    const findings = new Set([...layerViolations, ...importCycles, ...longFiles].map((finding) => finding.split(' (')[0]!));
    expect(Object.keys(ALLOWED).filter((key) => !findings.has(key))).toEqual([]);
  });
});
