import { loopTurnsDuring } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { CSV_BATCH_BYTES, profileCsvOffThread } from './csv-profile-thread.js';
import { CsvFormatError, MAX_RECORD_BYTES, profileCsv } from './csv-reader.js';

// The thread runs the built module (`@maas/training/csv`): `node tools/build.mjs` first, as the
// test command does.

/** `data` as a stream of `size`-byte chunks, counting what was read. */
function chunked(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> & { read: () => number } {
  let read = 0;
  const chunks = (async function* () {
    for (let at = 0; at < data.length; at += size) {
      const chunk = data.subarray(at, at + size);
      read += chunk.length;
      yield chunk;
    }
  })();
  return Object.assign(chunks, { read: () => read });
}

function csv(rows: number): Buffer {
  const lines = ['x,y,colour,label'];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `${i % 97},${(i * 7919) % 1000}.25,${['red', 'green', ''][i % 3]},${i % 4 ? 'a' : 'b'}`,
    );
  }
  return Buffer.from(lines.join('\n') + '\n');
}

describe('profileCsvOffThread', () => {
  it('profiles a CSV of many batches on a thread exactly as profileCsv does, the event loop free', async () => {
    const data = csv(250_000);
    expect(data.length).toBeGreaterThan(3 * CSV_BATCH_BYTES);
    const { result, turns } = await loopTurnsDuring(() => profileCsvOffThread(chunked(data)));
    expect(result).toEqual(await profileCsv(data));
    expect(result.rows).toBe(250_000);
    // Profiling ~4 MiB takes the thread about a second; on the event loop it was one turn per
    // 64 KiB chunk, a few dozen. Here the loop turned freely meanwhile.
    expect(turns).toBeGreaterThan(500);
  }, 60_000);

  it("gives the CSV's own error, with its line, and reads no further", async () => {
    const before = csv(100_000);
    const data = Buffer.concat([before, Buffer.from('1,2,3\n'), csv(600_000)]);
    const source = chunked(data);
    const error = await profileCsvOffThread(source).catch((e: unknown) => e);
    const expected = await profileCsv(data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvFormatError);
    expect(error).toMatchObject({ line: 100_002, message: (expected as Error).message });
    // It stopped reading within a few batches of the error, not at the end of the file.
    expect(source.read()).toBeLessThan(before.length + 4 * CSV_BATCH_BYTES);
    expect(data.length).toBeGreaterThan(before.length + 8 * CSV_BATCH_BYTES);
  }, 60_000);

  it('refuses a never-ending record once it passes MAX_RECORD_BYTES, without reading it all', async () => {
    const data = Buffer.concat([
      Buffer.from('text,label\n'),
      Buffer.alloc(32 * MAX_RECORD_BYTES, 'x'),
    ]);
    const source = chunked(data);
    const error = await profileCsvOffThread(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvFormatError);
    expect((error as Error).message).toBe('CSV line 2: a record is larger than 1 MiB');
    expect(source.read()).toBeLessThan(8 * MAX_RECORD_BYTES);
  }, 60_000);

  it('refuses a CSV that needs more memory than its thread may use, and only that one', async () => {
    // Eight columns of distinct 100 KiB values: each kept (up to 1,000 per column) for the count.
    const value = (row: number, column: number) =>
      `${row}-${column}-`.padEnd(100 * 1024, String.fromCharCode(97 + ((row + column) % 26)));
    const header = Buffer.from('a,b,c,d,e,f,g,h\n');
    const rows = Array.from({ length: 120 }, (_, row) =>
      Buffer.from(Array.from({ length: 8 }, (_, column) => value(row, column)).join(',') + '\n'),
    );
    const [hog, fine] = await Promise.allSettled([
      profileCsvOffThread(chunked(Buffer.concat([header, ...rows])), { heapMb: 32 }),
      profileCsvOffThread(chunked(csv(50_000)), { heapMb: 32 }),
    ]);
    expect(hog.status).toBe('rejected');
    expect((hog as PromiseRejectedResult).reason).toBeInstanceOf(CsvFormatError);
    expect((hog as PromiseRejectedResult).reason.message).toBe(
      'CSV: reading it needs more than 32 MiB of memory',
    );
    expect(fine).toMatchObject({ status: 'fulfilled', value: { rows: 50_000 } });
  }, 60_000);
});
