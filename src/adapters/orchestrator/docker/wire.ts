// Pure byte formats Docker's API speaks: a tar archive (to put config and secret files into a volume) and the
// multiplexed stdout/stderr stream of logs and exec (8-byte frame headers) when the container has no TTY.

/** A ustar archive of flat files (names without directories), owned by uid/gid (default root), mode 0644 by default. */
export function tarOf(
  files: Readonly<Record<string, string>>,
  options: { mode?: number; mtime?: number; uid?: number; gid?: number } = {},
): Buffer {
  const mode = (options.mode ?? 0o644).toString(8).padStart(7, '0');
  const mtime = Math.floor((options.mtime ?? 0) / 1000)
    .toString(8)
    .padStart(11, '0');
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    if (Buffer.byteLength(name) > 100 || name.includes('/') || name === '' || name === '.' || name === '..') {
      throw new Error(`file name ${JSON.stringify(name)} is not a plain file name of at most 100 bytes`);
    }
    const body = Buffer.from(content, 'utf8');
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write(`${mode}\0`, 100);
    header.write(`${(options.uid ?? 0).toString(8).padStart(7, '0')}\0`, 108);
    header.write(`${(options.gid ?? 0).toString(8).padStart(7, '0')}\0`, 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(`${mtime}\0`, 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Splits a multiplexed stream into its text; a buffer that is not multiplexed (TTY) is returned whole. */
export function demultiplex(buffer: Buffer): string {
  const looksMultiplexed = buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!looksMultiplexed) return buffer.toString('utf8');
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
