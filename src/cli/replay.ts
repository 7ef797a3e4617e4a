// `npm run replay -- <projection> [--url http://host:port] [--key <api key>]`
// Replays the log into one projection through the running service (which owns the live runners, so the
// read model stays up: the events go into fresh tables that are swapped in at the end) and draws the
// progress it streams (Server-Sent Events) as a bar. The key needs the platform permission; by default
// KYO_API_KEY, else the bootstrap key in DATA_DIR. Exit code 0 once swapped in, 1 when it failed or was
// refused (the service refuses `--from <position>`: it keeps no read model as of a position to build on).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { loadConfig } from '../config.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, url: { type: 'string' }, key: { type: 'string' } },
});
const [projection] = positionals;
if (!projection || !/^[a-z][a-z0-9_]{0,62}$/.test(projection) || (values.from !== undefined && !/^\d{1,20}\.\d{1,20}$/.test(values.from))) {
  console.error('usage: npm run replay -- <projection> [--url http://localhost:3000] [--key <api key>]');
  process.exit(2);
}

const config = loadConfig();
const base = (values.url ?? process.env.KYO_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, '');
function apiKey(): string {
  const given = values.key ?? process.env.KYO_API_KEY;
  if (given) return given;
  try {
    return readFileSync(join(config.dataDir, 'bootstrap-api-key'), 'utf8').trim();
  } catch {
    console.error('no API key: pass --key or set KYO_API_KEY (a key with the platform permission)');
    process.exit(2);
  }
}
const headers = { authorization: `Bearer ${apiKey()}` };
const path = `${base}/v1/admin/projections/${projection}/replay`;

interface Progress {
  state: 'running' | 'swapped' | 'failed';
  checkpoint: string;
  head: string;
  eventsReplayed: number;
  percent: number;
  error?: string;
}

const started = await fetch(path, {
  method: 'POST',
  headers: { ...headers, 'content-type': 'application/json' },
  body: JSON.stringify(values.from ? { from: values.from } : {}),
});
if (started.status !== 202) {
  const problem = (await started.json().catch(() => ({}))) as { detail?: string };
  console.error(`replay refused (${started.status}): ${problem.detail ?? started.statusText}`);
  process.exit(1);
}

const bar = new cliProgress.SingleBar(
  { format: `${projection} [{bar}] {percentage}% | {events} events | at {checkpoint} of {head}`, hideCursor: true },
  cliProgress.Presets.shades_classic,
);
bar.start(100, 0, { events: 0, checkpoint: '0.0', head: '?' });

const stream = await fetch(path, { headers: { ...headers, accept: 'text/event-stream' } });
if (!stream.ok || !stream.body) {
  bar.stop();
  console.error(`cannot follow the replay (${stream.status})`);
  process.exit(1);
}
let last: Progress | undefined;
let buffered = '';
const decoder = new TextDecoder();
for await (const chunk of stream.body) {
  buffered += decoder.decode(chunk, { stream: true });
  let end: number;
  while ((end = buffered.indexOf('\n\n')) !== -1) {
    const message = buffered.slice(0, end);
    buffered = buffered.slice(end + 2);
    const data = message.split('\n').find((line) => line.startsWith('data: '));
    if (!data) continue; // a heartbeat
    last = JSON.parse(data.slice(6)) as Progress;
    bar.update(Math.floor(last.percent), { events: last.eventsReplayed, checkpoint: last.checkpoint, head: last.head });
  }
}
bar.stop();
if (last?.state === 'swapped') {
  console.error(`${projection}: ${last.eventsReplayed} events replayed; the fresh tables are live (checkpoint ${last.checkpoint})`);
} else {
  console.error(`${projection}: replay ${last?.state ?? 'ended without an outcome'}${last?.error ? `: ${last.error}` : ''}`);
  process.exit(1);
}
