import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type OnnxTensor,
  TensorDataType,
  buildGemmModel,
  buildModel,
  encodeModel,
  node,
  valueInfo,
  buildLargeAddModel,
} from '@maas/onnx';
import { buildTfjsArchive, gzipBomb } from '@maas/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidModelError, ValidationLimitError } from './validation-errors.js';
import { ValidationSandbox } from './validation-sandbox.js';

const MiB = 1024 * 1024;
const workDirs: string[] = [];

afterAll(async () => {
  await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** An upload's scratch directory holding `bytes` as its artifact, as the registry makes it. */
async function staged(bytes: Uint8Array): Promise<{ file: string; workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), 'maas-sandbox-spec-'));
  workDirs.push(workDir);
  const file = join(workDir, 'artifact');
  await writeFile(file, bytes);
  return { file, workDir };
}

/** out = x + W with W a float tensor of `mib` MiB: a valid model that is simply big. */
const bigOnnx = (mib: number) => buildLargeAddModel(mib, 1);

const gemm = () =>
  buildGemmModel({
    weights: [
      [1, 2],
      [3, 4],
    ],
    bias: [0, 0],
  });

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

/** Pids of this process's children (the validation child while it runs). */
function childPids(): number[] {
  return readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number),
  );
}

async function waitForChild(before: number[]): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const pid = childPids().find((p) => !before.includes(p));
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no validation child appeared');
}

describe('validation in a sandbox process', () => {
  it('validates ONNX and TF.js (zip, tar.gz) in a child and reports its peak memory', async () => {
    const sandbox = new ValidationSandbox();
    const onnx = await sandbox.validate({ format: 'onnx', ...(await staged(gemm())) });
    expect(onnx.signature).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect(onnx.peakRssBytes).toBeGreaterThan(20 * MiB);
    expect(onnx.peakRssBytes).toBeLessThan(sandbox.options.memoryLimitBytes);
    for (const kind of ['zip', 'tar.gz'] as const) {
      const tfjs = await sandbox.validate({
        format: 'tfjs',
        ...(await staged(await buildTfjsArchive({ kind }))),
      });
      expect(tfjs.signature).toEqual({
        inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'dense', datatype: 'FP32', shape: [-1, 3] }],
      });
    }
  });

  it('runs the same checks in the child: garbage and external data are refused (422)', async () => {
    const sandbox = new ValidationSandbox();
    const garbage = await failure(
      sandbox.validate({ format: 'onnx', ...(await staged(Buffer.from('not a model'))) }),
    );
    expect(garbage).toBeInstanceOf(InvalidModelError);
    expect(garbage).not.toBeInstanceOf(ValidationLimitError);
    expect(garbage.message).toMatch(/not a loadable ONNX model/);

    const external: OnnxTensor = {
      name: 'W',
      dataType: TensorDataType.FLOAT,
      dims: [4],
      dataLocation: 1,
      externalData: [{ key: 'location', value: 'artifact' }],
    };
    const leaky = encodeModel(
      buildModel({
        graph: {
          nodes: [node('Add', ['x', 'W'], ['out'])],
          initializers: [external],
          inputs: [valueInfo('x', TensorDataType.FLOAT, [4])],
          outputs: [valueInfo('out', TensorDataType.FLOAT, [4])],
        },
      }),
    );
    const refused = await failure(sandbox.validate({ format: 'onnx', ...(await staged(leaky)) }));
    expect(refused).toBeInstanceOf(InvalidModelError);
    expect(refused.message).toBe(
      "initializer 'W' in graph 'main' stores its data outside the model (external data); models must be self-contained",
    );
  });

  it('kills a child past its memory cap: 422 naming the cap, and the same model fits a larger one', async () => {
    const model = await staged(bigOnnx(96));
    const small = new ValidationSandbox({ memoryLimitBytes: 192 * MiB });
    const started = Date.now();
    const error = await failure(small.validate({ format: 'onnx', ...model }));
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect((error as ValidationLimitError).limit).toBe('memory');
    expect(error.message).toBe('the model needs more than 192 MiB of memory to validate');
    expect(Date.now() - started).toBeLessThan(20_000);

    const large = await new ValidationSandbox({ memoryLimitBytes: 1024 * MiB }).validate({
      format: 'onnx',
      ...model,
    });
    // ORT copies the weights while it builds the session: well past the small cap.
    expect(large.peakRssBytes).toBeGreaterThan(192 * MiB);
    expect(large.signature.inputs[0]).toMatchObject({ name: 'x', shape: [96 * 262_144] });
  });

  it('kills a child past its time limit: 422 naming the limit', async () => {
    const sandbox = new ValidationSandbox({ timeoutMs: 20 });
    const error = await failure(
      sandbox.validate({ format: 'onnx', ...(await staged(bigOnnx(64))) }),
    );
    expect(error).toBeInstanceOf(ValidationLimitError);
    expect((error as ValidationLimitError).limit).toBe('time');
    expect(error.message).toBe('the model needs more than 0.02 s to validate');
  });

  it('refuses a TF.js decompression bomb in the child with the unpack limit, not memory', async () => {
    const sandbox = new ValidationSandbox({
      memoryLimitBytes: 512 * MiB,
      unpack: { maxRatio: 20, maxBytes: 1024 * MiB },
    });
    const outcome = await failure(
      sandbox.validate({ format: 'tfjs', ...(await staged(gzipBomb(2048 * MiB))) }),
    );
    expect(outcome).toBeInstanceOf(ValidationLimitError);
    expect((outcome as ValidationLimitError).limit).toBe('unpacked-size');
    expect(outcome.message).toMatch(
      /^the archive unpacks to more than \d+\.\d MiB: archives may unpack to 20× their compressed size/,
    );
  });

  it('starts the child niced, with an empty environment, in an empty 0555 directory', async () => {
    process.env.MAAS_SANDBOX_SPEC_SECRET = 'must-not-reach-the-child';
    try {
      const sandbox = new ValidationSandbox({ memoryLimitBytes: 1024 * MiB });
      const model = await staged(bigOnnx(64));
      const before = childPids();
      const running = sandbox.validate({ format: 'onnx', ...model });
      const pid = await waitForChild(before);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const nice = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
      await running;
      // Only what fork() adds for the IPC channel, and the scratch TMPDIR.
      expect(environ.sort()).toEqual([
        'NODE_CHANNEL_FD=3',
        'NODE_CHANNEL_SERIALIZATION_MODE=json',
        `TMPDIR=${model.workDir}`,
      ]);
      expect(cwd.startsWith(join(model.workDir, 'cwd-'))).toBe(true);
      expect(readdirSync(cwd)).toEqual([]);
      expect(statSync(cwd).mode & 0o777).toBe(0o555);
      expect(nice).toBe(10);
    } finally {
      delete process.env.MAAS_SANDBOX_SPEC_SECRET;
    }
  });

  it('turns a child that dies while it holds the model into a 422', async () => {
    const sandbox = new ValidationSandbox({ memoryLimitBytes: 1024 * MiB });
    const before = childPids();
    const running = failure(sandbox.validate({ format: 'onnx', ...(await staged(bigOnnx(64))) }));
    const pid = await waitForChild(before);
    // Once it reads the 64 MiB model (it does after it said it is ready), it is validating.
    const rssKiB = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    while (rssKiB() < 140 * 1024) await new Promise((r) => setTimeout(r, 5));
    process.kill(pid, 'SIGSEGV');
    const crashed = await running;
    expect(crashed).toBeInstanceOf(InvalidModelError);
    expect(crashed.message).toBe(
      'the model crashed its validator (SIGSEGV); it cannot be loaded safely',
    );
  });

  it('runs at most `concurrency` children; the others wait their turn', async () => {
    const sandbox = new ValidationSandbox({ concurrency: 1 });
    const a = sandbox.validate({ format: 'onnx', ...(await staged(gemm())) });
    const b = sandbox.validate({ format: 'onnx', ...(await staged(gemm())) });
    expect(sandbox.load).toEqual({ active: 1, waiting: 1 });
    await Promise.all([a, b]);
    expect(sandbox.load).toEqual({ active: 0, waiting: 0 });
  });
});
