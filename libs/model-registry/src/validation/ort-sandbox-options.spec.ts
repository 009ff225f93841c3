import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { buildExternalDataModel } from '@maas/onnx';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyExternalDataDirectory, ortSandboxSessionConfig } from './ort-sandbox-options.js';

/** The bytes of `out` when onnxruntime loads and runs the model, or the error it threw. */
async function load(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions) {
  try {
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4, ...options });
    try {
      const { out } = await session.run({});
      const data = out.data as Float32Array;
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    } finally {
      await session.release();
    }
  } catch (error) {
    return error as Error;
  }
}

describe('onnxruntime sandbox session options', () => {
  const marker = randomBytes(16);
  let secretDirectory: string;
  let secretPath: string;
  // Under the working directory (git-ignored tmp/): where a relative location resolves by default.
  let cwdDirectory: string;

  beforeAll(() => {
    secretDirectory = mkdtempSync(join(tmpdir(), 'ort-sandbox-secret-'));
    secretPath = join(secretDirectory, 'secret.bin');
    writeFileSync(secretPath, marker);
    mkdirSync(join(process.cwd(), 'tmp'), { recursive: true });
    cwdDirectory = mkdtempSync(join(process.cwd(), 'tmp', 'ort-sandbox-spec-'));
    writeFileSync(join(cwdDirectory, 'secret.bin'), marker);
  });

  afterAll(() => {
    rmSync(secretDirectory, { recursive: true, force: true });
    rmSync(cwdDirectory, { recursive: true, force: true });
  });

  it('the attack is real without them: a relative location is read from the working directory', async () => {
    const location = relative(process.cwd(), join(cwdDirectory, 'secret.bin'));
    const leaked = await load(buildExternalDataModel(location), {
      graphOptimizationLevel: 'disabled',
    });
    expect(leaked).toEqual(marker);
  });

  it('onnxruntime-node honours model_external_initializers_file_folder_path', async () => {
    // Pointed at the secret's folder, the same kind of model reads it: the entry takes effect.
    const read = await load(buildExternalDataModel('secret.bin'), {
      extra: { session: { model_external_initializers_file_folder_path: secretDirectory } },
    });
    expect(read).toEqual(marker);
  });

  it('with the sandbox config no location reaches the file, however it is written', async () => {
    const locations = [
      'secret.bin',
      relative(process.cwd(), join(cwdDirectory, 'secret.bin')),
      secretPath,
      `../${basename(secretDirectory)}/secret.bin`,
      join('..', '..', secretPath),
      `*/_ORT_MEM_ADDR_/*`,
    ];
    for (const location of locations) {
      // As the validator (no optimisation) and as the worker (all optimisations) load it.
      for (const graphOptimizationLevel of ['disabled', 'all'] as const) {
        const outcome = await load(buildExternalDataModel(location), {
          graphOptimizationLevel,
          extra: { session: ortSandboxSessionConfig() },
        });
        expect(outcome, `${location} (${graphOptimizationLevel})`).toBeInstanceOf(Error);
        expect((outcome as Error).message).not.toContain(marker.toString('latin1'));
      }
    }
  });

  it('parses every model as ONNX, never as an ORT-format flatbuffer', async () => {
    expect(ortSandboxSessionConfig()).toMatchObject({ load_model_format: 'ONNX' });
    // The entry is honoured: the opposite value makes an ONNX model unloadable.
    const asOrt = await load(buildExternalDataModel('x'), {
      extra: { session: { load_model_format: 'ORT' } },
    });
    expect((asOrt as Error).message).toMatch(/ORT model verification failed/);
  });

  it('points at one empty, read-only directory per process', () => {
    const directory = emptyExternalDataDirectory();
    expect(emptyExternalDataDirectory()).toBe(directory);
    expect(ortSandboxSessionConfig().model_external_initializers_file_folder_path).toBe(directory);
    expect(readdirSync(directory)).toEqual([]);
    expect(statSync(directory).mode & 0o777).toBe(0o555);
  });
});
