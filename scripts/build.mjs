// `npm start`'s build: src/ to dist/ as JavaScript, only when a source changed since the last build.
// Transpiling file by file with esbuild (tsx's own transpiler, installed with the dev dependencies) takes a
// fraction of a second where tsc took seconds; types are `npm run typecheck`'s job either way. Without
// esbuild (a production install) it falls back to tsc, as `npm run build` does.
/* global process */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const stamp = join(root, 'dist', '.start-build');
const inputs = ['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((file) => join(root, file));

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const sources = sourceFiles(join(root, 'src'));
const newestInput = Math.max(...[...sources, ...inputs.filter(existsSync)].map((file) => statSync(file).mtimeMs));
if (existsSync(stamp) && existsSync(join(root, 'dist', 'main.js')) && statSync(stamp).mtimeMs >= newestInput) process.exit(0);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  esbuild = undefined;
}
if (!esbuild) {
  const tsc = spawnSync('npx', ['tsc', '-b', 'tsconfig.build.json', '--noCheck'], { cwd: root, stdio: 'inherit' });
  process.exit(tsc.status ?? 1);
}

const startedAt = Date.now();
await esbuild.build({
  entryPoints: sources.map((file) => relative(root, file)),
  absWorkingDir: root,
  outbase: 'src',
  outdir: 'dist',
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
// The stamp's time is the build's start: a source saved during the build makes the next start build again.
writeFileSync(stamp, '');
utimesSync(stamp, new Date(startedAt), new Date(startedAt));
