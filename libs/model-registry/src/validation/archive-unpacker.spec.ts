import { monitorEventLoopDelay } from 'node:perf_hooks';
import { deflateRawSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { buildTfjsArchive, gzipBomb, zipBomb } from '@maas/testing';
import { describe, expect, it } from 'vitest';
import { unpackBudget, unpackTarGz, unpackZip } from './archive-unpacker.js';
import { readTfjsArchive } from './tfjs-archive.js';
import { InvalidModelError, ValidationLimitError } from './validation-errors.js';

const MiB = 1024 * 1024;
const limits = { maxRatio: 20, maxBytes: 1024 * MiB };

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

describe('bounded archive unpacking', () => {
  it('budgets min(ratio × compressed, cap), never below 1 MiB, never past 2 GiB', () => {
    expect(unpackBudget(2 * MiB, limits)).toBe(40 * MiB);
    expect(unpackBudget(100 * MiB, limits)).toBe(1024 * MiB);
    expect(unpackBudget(1000, limits)).toBe(MiB);
    expect(unpackBudget(100 * MiB, { maxBytes: 8 * 1024 * MiB })).toBe(2048 * MiB);
  });

  it('stops a ~2 MiB .tar.gz claiming 2 GiB at 20× its size, without blocking the event loop', async () => {
    const bomb = gzipBomb(2048 * MiB);
    expect(bomb.length).toBeLessThan(3 * MiB);

    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const started = Date.now();
    const error = await failure(unpackTarGz(bomb, limits));
    const elapsed = Date.now() - started;
    lag.disable();
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect((error as ValidationLimitError).limit).toBe('unpacked-size');
    const budget = unpackBudget(bomb.length, limits);
    expect(error.message).toContain(
      `the archive unpacks to more than ${(budget / MiB).toFixed(1)}`,
    );
    expect(error.message).toMatch(/20× their compressed size .* at most 1024 MiB/);
    // It stopped near the budget (~40 MiB), not after inflating 2 GiB.
    expect(elapsed).toBeLessThan(10_000);
    // Inflation ran on the thread pool: the loop kept turning (a 2 GiB synchronous inflate
    // blocks it for seconds). Generous, as this machine is shared.
    expect(lag.max / 1e6).toBeLessThan(500);
  });

  it('applies the absolute cap when it is the smaller bound', async () => {
    const error = await failure(
      unpackTarGz(gzipBomb(256 * MiB), { maxRatio: 1000, maxBytes: 8 * MiB }),
    );
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect(error.message).toMatch(/more than 8 MiB: archives may unpack to 1000× .* at most 8 MiB/);
  });

  it('counts the bytes a zip entry inflates to, not the size it declares', async () => {
    // 32 entries declaring 1 byte each, all pointing at one 64 MiB block of zeros.
    const bomb = zipBomb(32);
    expect(bomb.length).toBeLessThan(MiB);
    const error = await failure(unpackZip(bomb, limits));
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect(error.message).toMatch(
      /more than 1\.\d MiB: archives may unpack to 20× their compressed size \(here \d+\.\d KiB\)/,
    );
    // With room for it, the entry is what inflation yields (64 MiB), not the 1 byte it claims.
    const roomy = await unpackZip(zipBomb(1), { maxBytes: 128 * MiB });
    expect(roomy.get('model.json')!.length).toBe(64 * MiB);
  });

  it('refuses a TF.js bomb through readTfjsArchive with the upload limits', async () => {
    for (const bomb of [gzipBomb(512 * MiB), zipBomb(16)]) {
      const error = await failure(readTfjsArchive(bomb, limits));
      expect(error).toBeInstanceOf(ValidationLimitError);
    }
  });

  it('unpacks real archives, zip and tar.gz, in a folder too', async () => {
    for (const kind of ['zip', 'tar.gz'] as const) {
      const archive = await buildTfjsArchive({ kind, folder: 'm' });
      const files =
        kind === 'zip' ? await unpackZip(archive, limits) : await unpackTarGz(archive, limits);
      expect([...files.keys()].sort()).toEqual(['m/group1-shard1of1.bin', 'm/model.json']);
      expect(files.get('m/group1-shard1of1.bin')!.length).toBe(60);
    }
    // A stored (uncompressed) entry is read as is.
    const stored = zipSync({ 'model.json': [strToU8('{"a":1}'), { level: 0 }] });
    expect((await unpackZip(stored, limits)).get('model.json')!.toString()).toBe('{"a":1}');
  });

  it('refuses malformed, corrupt, encrypted, zip64 and duplicate-name archives with a 422', async () => {
    const good = Buffer.from(zipSync({ 'model.json': strToU8('{"modelTopology":{}}'.repeat(50)) }));
    const cases: [Buffer, RegExp][] = [];
    cases.push([good.subarray(0, good.length - 30), /no end of central directory|malformed/]);
    const corrupt = Buffer.from(good);
    corrupt[40] ^= 0xff;
    cases.push([corrupt, /CRC-32|does not inflate/]);
    const encrypted = Buffer.from(good);
    const cd = encrypted.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    encrypted.writeUInt16LE(1, cd + 8);
    cases.push([encrypted, /is encrypted/]);
    const zip64 = Buffer.from(good);
    zip64.writeUInt32LE(0xffffffff, zip64.length - 22 + 16);
    cases.push([zip64, /zip64/]);
    const twice = Buffer.from(
      zipSync({ 'model.json': strToU8('{}'), './model.json': strToU8('{}') }),
    );
    cases.push([twice, /holds 'model.json' more than once/]);
    const method = Buffer.from(good);
    method.writeUInt16LE(14, cd + 10);
    cases.push([method, /compression method 14/]);
    for (const [bytes, message] of cases) {
      const error = await failure(unpackZip(bytes, limits));
      expect(error, String(message)).toBeInstanceOf(InvalidModelError);
      expect(error.message, String(message)).toMatch(message);
    }
    const notGzip = await failure(unpackTarGz(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), limits));
    expect(notGzip).toBeInstanceOf(InvalidModelError);
    expect(notGzip.message).toMatch(/not a readable .tar.gz archive/);
    expect(await failure(unpackZip(deflateRawSync(Buffer.alloc(100)), limits))).toBeInstanceOf(
      InvalidModelError,
    );
  });
});
