// Test files in the order that ends a run soonest on few workers: the longest first, so that the last file
// to start is a short one and no worker finishes long before the other (the longest files took 2–3 minutes
// each; started last, one of them ran alone at the end). Durations come from a recorded run
// (test/durations.json, refreshed by test/support/record-durations.ts), so a fresh clone orders the same way.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per file, keyed by its path from the project root (forward slashes). */
export type Durations = Readonly<Record<string, number>>;

/**
 * Files sorted by recorded duration, longest first. A file with no record (new since the recording) counts as
 * `unknownSeconds`: by default the median of the record, so a new file runs neither first nor last. Ties keep the
 * path order, so the order is the same on every machine.
 */
export function slowestFirst(files: readonly string[], durations: Durations, unknownSeconds = median(Object.values(durations))): string[] {
  const seconds = (file: string) => durations[file] ?? unknownSeconds;
  return [...files].sort((a, b) => seconds(b) - seconds(a) || (a < b ? -1 : a > b ? 1 : 0));
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const DURATIONS_FILE = new URL('../durations.json', import.meta.url);

function recordedDurations(): Durations {
  try {
    return JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as Durations;
  } catch {
    return {}; // no record: every file counts the same, path order
  }
}

/** vitest's sequencer (sequence.sequencer in vitest.config.ts); sharding stays vitest's own. */
export class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const keyOf = (spec: TestSpecification) => relative(root, spec.moduleId).split('\\').join('/');
    const byKey = new Map(files.map((spec) => [keyOf(spec), spec]));
    return slowestFirst([...byKey.keys()], recordedDurations()).map((key) => byKey.get(key)!);
  }
}
