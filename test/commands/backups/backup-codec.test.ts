// Chunk encoding as properties: any NDJSON text round-trips, with and without encryption; any single
// altered byte of a stored chunk changes its sha256, and an encrypted chunk altered anywhere fails to decrypt.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeChunk,
  encodeChunk,
  encodeChunkStream,
  encryptionOf,
  parseBackupKey,
  readAll,
  sha256Hex,
} from '../../../src/commands/backups/index.js';

const key = parseBackupKey(randomBytes(32).toString('hex'));
const text = fc
  .array(
    fc.jsonValue().map((value) => JSON.stringify(value)),
    { maxLength: 30 },
  )
  .map((lines) => lines.join('\n'));

describe('backup chunk codec', () => {
  it('round-trips any NDJSON, plain and encrypted', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.boolean(), async (ndjson, encrypted) => {
        const k = encrypted ? key : undefined;
        const stored = await encodeChunk(ndjson, k);
        expect(await decodeChunk('c', stored, encryptionOf(k), k)).toBe(ndjson);
      }),
      { numRuns: 100 },
    );
  });

  it('an altered byte changes the sha256, and an encrypted chunk altered anywhere is refused', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.nat(), fc.integer({ min: 1, max: 255 }), async (ndjson, at, flip) => {
        const stored = await encodeChunk(ndjson, key);
        const altered = Buffer.from(stored);
        const index = at % altered.length;
        altered[index] = altered[index]! ^ flip;
        expect(sha256Hex(altered)).not.toBe(sha256Hex(stored));
        await expect(decodeChunk('c', altered, encryptionOf(key), key)).rejects.toThrow(/chunk c/);
      }),
      { numRuns: 100 },
    );
  });

  it('a streamed chunk, cut into any pieces, decodes to their concatenation; its digest is of the bytes it produced', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        async (pieces, encrypted, level) => {
          const k = encrypted ? key : undefined;
          async function* source() {
            for (const piece of pieces) yield piece;
          }
          const encoding = encodeChunkStream(source(), k, level);
          const stored = await readAll(encoding.output);
          const digest = await encoding.digest;
          expect(digest).toEqual({ sha256: sha256Hex(stored), bytes: stored.length });
          expect(await decodeChunk('c', stored, encryptionOf(k), k)).toBe(pieces.join(''));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a streamed chunk whose source fails rejects its digest and ends its output with the error', async () => {
    async function* failing() {
      yield 'a'.repeat(100_000);
      throw new Error('database went away');
    }
    const encoding = encodeChunkStream(failing(), key);
    await expect(readAll(encoding.output)).rejects.toThrow(/database went away/);
    await expect(encoding.digest).rejects.toThrow(/database went away/);
  });

  it('parses the key as 64 hex digits or base64 of 32 bytes and refuses anything else', () => {
    const raw = randomBytes(32);
    expect(parseBackupKey(raw.toString('hex')).key.equals(raw)).toBe(true);
    expect(parseBackupKey(raw.toString('base64')).keyId).toBe(parseBackupKey(raw.toString('hex')).keyId);
    expect(() => parseBackupKey('short')).toThrow(RangeError);
  });
});
