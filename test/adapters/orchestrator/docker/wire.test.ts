// The two byte formats the Docker adapter writes and reads itself: its tar archives are read back by GNU tar
// (names, contents, modes and owners intact), and the log stream's frames split back into the text they carry.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demultiplex, tarOf } from '../../../../src/adapters/orchestrator/docker/wire.js';

const fileName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$/).filter((name) => name !== '.' && name !== '..');

describe('tarOf', () => {
  it('writes archives GNU tar extracts to the same files, modes and owners', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fileName, fc.string({ maxLength: 2000 }), { minKeys: 1, maxKeys: 5 }),
        fc.constantFrom(0o600, 0o644),
        (files, mode) => {
          const dir = mkdtempSync(join(tmpdir(), 'kyo-tar-'));
          try {
            writeFileSync(join(dir, 'a.tar'), tarOf(files, { mode, uid: 65534, gid: 65534 }));
            const out = join(dir, 'out');
            execFileSync('mkdir', [out]);
            execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', out, '--same-owner', '--same-permissions']);
            expect(readdirSync(out).sort()).toEqual(Object.keys(files).sort());
            for (const [name, content] of Object.entries(files)) {
              expect(readFileSync(join(out, name), 'utf8')).toBe(content);
              const stat = statSync(join(out, name));
              expect(stat.mode & 0o777).toBe(mode);
              if (process.getuid?.() === 0) expect(stat.uid).toBe(65534);
            }
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses names that are paths', () => {
    expect(() => tarOf({ '../etc/passwd': 'x' })).toThrow(/plain file name/);
    expect(() => tarOf({ 'a/b': 'x' })).toThrow(/plain file name/);
  });
});

describe('demultiplex', () => {
  it('joins the payloads of stdout/stderr frames in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(1, 2), fc.string({ minLength: 1, maxLength: 300 })), { minLength: 1, maxLength: 20 }),
        (frames) => {
          const buffer = Buffer.concat(
            frames.map(([stream, text]) => {
              const body = Buffer.from(text, 'utf8');
              const header = Buffer.alloc(8);
              header[0] = stream;
              header.writeUInt32BE(body.length, 4);
              return Buffer.concat([header, body]);
            }),
          );
          expect(demultiplex(buffer)).toBe(frames.map(([, text]) => text).join(''));
        },
      ),
    );
  });

  it('returns a stream without frames (a TTY) as it is', () => {
    expect(demultiplex(Buffer.from('plain output\n'))).toBe('plain output\n');
  });
});
