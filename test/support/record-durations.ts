// Refreshes test/durations.json from a full run's JSON report:
//   npx vitest run --reporter=json --outputFile=/tmp/suite.json && npx tsx test/support/record-durations.ts /tmp/suite.json
// Seconds per file (wall time of the file in that run), rounded; the sequencer starts the longest first.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DURATIONS_FILE } from './slowest-first.js';

interface JsonReport {
  readonly testResults: readonly { readonly name: string; readonly startTime: number; readonly endTime: number }[];
}

const reportPath = process.argv[2];
if (!reportPath) throw new Error('usage: tsx test/support/record-durations.ts REPORT.json');
const report = JSON.parse(readFileSync(reportPath, 'utf8')) as JsonReport;
// The report names files by absolute path, from whichever checkout ran: keep the part from test/ on.
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const keyOf = (name: string) => {
  const at = name.lastIndexOf('/test/');
  return at >= 0 ? name.slice(at + 1) : relative(projectRoot, name);
};
const durations = Object.fromEntries(
  report.testResults
    .map((file) => [keyOf(file.name), Math.max(1, Math.round((file.endTime - file.startTime) / 1000))] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(DURATIONS_FILE, `${JSON.stringify(durations, null, 2)}\n`);
console.log(`${Object.keys(durations).length} files recorded in ${fileURLToPath(DURATIONS_FILE)}`);
