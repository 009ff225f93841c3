import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
import { decodeInferRequest } from './infer-request.decoder.js';
import { liftDataRuns } from './json-data-runs.js';
import {
  type PredictRequest,
  decodePredictRequest,
  decodePredictWithDataRuns,
} from './predict.codec.js';
import type { TensorSpec } from './tensor.js';
import { TensorError } from './tensor.error.js';
import { WASM_BASE64 } from './wasm/json-numbers.wasm.js';

/** What the plain path gives: JSON.parse, then a Float32Array store. */
function reference(texts: string[]): Float32Array {
  return Float32Array.from(JSON.parse(`[${texts.join(',')}]`) as number[]);
}

function decodeFp32(texts: string[]): Float32Array {
  const body = `{"inputs":[{"name":"x","datatype":"FP32","shape":[${texts.length}],"data":[${texts.join(',')}]}]}`;
  const data = decodeInferRequest(Buffer.from(body)).inputs[0]!.data;
  expect(data).toBeInstanceOf(Float32Array);
  return data as Float32Array;
}

/** Indexes where two float32 arrays differ bit for bit (-0 and 0 differ). */
function differences(got: Float32Array, want: Float32Array): string[] {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) bad.push(String(i));
  return bad;
}

describe('FP32 data read from JSON text (json-data-runs)', () => {
  it('gives bit for bit what JSON.parse and a Float32Array store give, for every number form', () => {
    const random = seededRandom(42);
    const texts = [
      '0',
      '-0',
      '0.0',
      '-0.0',
      '0e5',
      '1',
      '-1',
      '10',
      '1.5',
      '-2.25',
      '1E+2',
      '1e-2',
      '1.0e0',
      '123456789',
      '1234567890123456789',
      '12345678901234567890123',
      '9007199254740993',
      '0.000000000000000000001234',
      '0.1',
      '0.30000000000000004',
      '3.141592653589793238462643',
      '1e-45',
      '1.4e-45',
      '7e-46',
      '7.006492321624085e-46',
      '1e-50',
      '-1e-50',
      '1e-400',
      '1e400',
      '3.4028235e38',
      '3.4028235677973366e38',
      '3.4028236e38',
      '-3.5e38',
      '1e39',
      '2e-38',
      '1.1754943508222875e-38',
      '5e-324',
      '1.7976931348623157e308',
      '123e-20',
      '123e20',
      '0.00000001',
      '99999999.99999999',
      '100000000',
      '12345678.12345678',
      '1e22',
      '1e23',
      '4e-23',
    ];
    for (let i = 0; i < 3000; i++) {
      const x = random();
      texts.push(
        String(x),
        String(-x * 1000),
        String(Math.fround(x)),
        x.toFixed(3),
        x.toExponential(12),
      );
      texts.push(String(x * 10 ** Math.floor(random() * 80 - 40)));
      texts.push(String(Math.round(x * 1e6)));
    }
    // Decimal numbers a hair either side of the midpoint between two neighbouring float32s,
    // where reading via an inexact double could round the other way.
    const neighbour = new Float32Array(2);
    const bits = new Uint32Array(neighbour.buffer);
    for (let i = 0; i < 300; i++) {
      bits[0] = 0x3f800000 + Math.floor(random() * 0x800000);
      bits[1] = bits[0]! + 1;
      const midpoint = (neighbour[0]! + neighbour[1]!) / 2;
      texts.push(midpoint.toPrecision(17), midpoint.toPrecision(25), midpoint.toPrecision(9));
      texts.push(
        (midpoint * (1 + 1e-16)).toPrecision(20),
        (midpoint * (1 - 1e-16)).toPrecision(20),
      );
    }
    expect(differences(decodeFp32(texts), reference(texts))).toEqual([]);
  });

  it('reads nested data row-major, with whitespace anywhere JSON allows it', () => {
    const body = Buffer.from(
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data" :\n [ [1, 2.5,\t-3],\r\n[ 4e1,5 , 6 ] ] }]}',
    );
    expect(Array.from(decodeInferRequest(body).inputs[0]!.data as Float32Array)).toEqual([
      1, 2.5, -3, 40, 5, 6,
    ]);
  });

  it('reads several inputs and leaves other datatypes to the plain path, exactly', () => {
    const request = decodeInferRequest(
      Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'a', datatype: 'FP32', shape: [2], data: [0.1, 0.2] },
            { name: 'b', datatype: 'FP64', shape: [2], data: [0.1, 1.7976931348623157e308] },
            { name: 'c', datatype: 'INT64', shape: [1], data: [1] },
            { name: 'd', datatype: 'BOOL', shape: [2], data: [true, false] },
            { name: 'e', datatype: 'BYTES', shape: [1], data: ['[1,2]'] },
          ],
        }).replace('"data":[1]', '"data":[9007199254740993]'),
      ),
    );
    const [a, b, c, d, e] = request.inputs.map((input) => input.data);
    expect(Array.from(a as Float32Array)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(Array.from(b as Float64Array)).toEqual([0.1, 1.7976931348623157e308]);
    expect(Array.from(c as BigInt64Array)).toEqual([9007199254740993n]);
    expect(Array.from(d as Uint8Array)).toEqual([1, 0]);
    expect(e).toEqual(['[1,2]']);
  });

  it('lifts only `data` keys outside strings; a `data` array elsewhere keeps its value', () => {
    const tricky = {
      id: 'he said \\"data\\": [1, 2] and "data":[3]',
      parameters: { data: [7, 8, 9], note: '"data": [4]' },
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [2],
          parameters: { data: [5, 6] },
          data: [1.25, 2.5],
        },
      ],
    };
    const request = decodeInferRequest(Buffer.from(JSON.stringify(tricky)));
    expect(request.id).toBe(tricky.id);
    expect(request.parameters).toEqual(tricky.parameters);
    expect(request.inputs[0]!.parameters).toEqual({ data: [5, 6] });
    expect(Array.from(request.inputs[0]!.data as Float32Array)).toEqual([1.25, 2.5]);
    const lifted = liftDataRuns(Buffer.from(JSON.stringify(tricky)), JSON.stringify(tricky).length);
    expect(lifted?.runs.map((run) => run.count)).toEqual([3, 2, 2]);
  });

  it('answers ill-formed numbers and arrays as the plain path does: invalid JSON', () => {
    for (const data of [
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '+1',
      'NaN',
      '1,,2',
      '[1,]',
      '1 2',
      '0x1',
      '1\u00012',
    ]) {
      const body = `{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[${data}]}]}`;
      let caught: unknown;
      try {
        decodeInferRequest(Buffer.from(body));
      } catch (error) {
        caught = error;
      }
      expect(caught, data).toBeInstanceOf(TensorError);
      expect((caught as Error).message, data).toMatch(/^request body is not valid JSON/);
    }
  });

  it('words a count that does not match the shape as the plain path does', () => {
    expect(() =>
      decodeInferRequest(
        Buffer.from('{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3]}]}'),
      ),
    ).toThrow("input 'x': expected 4 elements for shape [2,2], got 3");
  });

  it('does not take a string for a lifted array, whatever it says', () => {
    const body =
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":"\\u0000maas-data-run:0"}]}';
    expect(() => decodeInferRequest(Buffer.from(body))).toThrow(
      "input 'x': 'data' must be an array",
    );
  });

  it('stops at the end of the JSON header: digits in the binary part are not read as JSON', () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
          { name: 'b', datatype: 'UINT8', shape: [8], parameters: { binary_data_size: 8 } },
        ],
      }),
    );
    const binary = Buffer.from('12345678');
    const request = decodeInferRequest(Buffer.concat([header, binary]), {
      headerLength: header.length,
    });
    expect(Array.from(request.inputs[0]!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Buffer.from(request.inputs[1]!.data as Uint8Array).toString()).toBe('12345678');
    // A header cut inside the data array is invalid JSON, even though digits follow it.
    const cut = Buffer.from('{"inputs":[{"name":"a","datatype":"FP32","shape":[3],"data":[1,2,');
    expect(() =>
      decodeInferRequest(Buffer.concat([cut, Buffer.from('3]}]}')]), { headerLength: cut.length }),
    ).toThrow(/not valid JSON/);
  });

  it('lifts nothing from a header that does not name the key, whatever its binary part holds', () => {
    const header = Buffer.from(
      '{"inputs":[{"name":"b","datatype":"UINT8","shape":[16],"parameters":{"binary_data_size":16}}]}',
    );
    // The binary part spells a data key and an array: it is not JSON and is never scanned.
    const body = Buffer.concat([header, Buffer.from('"data": [1,2,3] ')]);
    expect(liftDataRuns(body, header.length)).toBeUndefined();
    const request = decodeInferRequest(body, { headerLength: header.length });
    expect(Buffer.from(request.inputs[0]!.data as Uint8Array).toString()).toBe('"data": [1,2,3] ');
    // The same key in the JSON part is lifted, and a key the caller did not ask for is not.
    const json = Buffer.from('{"data":[1,2],"rows":[3]}');
    expect(liftDataRuns(json, json.length)?.runs.map((run) => run.count)).toEqual([2]);
    expect(liftDataRuns(json, json.length, new Set(['rows']))?.runs.map((r) => r.count)).toEqual([
      1,
    ]);
    expect(liftDataRuns(json, json.length, new Set(['cols']))).toBeUndefined();
  });

  it('reads large bodies (the module memory grows) and then small ones again', () => {
    const random = seededRandom(7);
    for (const count of [200_000, 784, 32 * 784]) {
      const texts = Array.from({ length: count }, () => String(random() * 2 - 1));
      expect(differences(decodeFp32(texts), reference(texts))).toEqual([]);
    }
  });

  it('embeds the module compiled from json-numbers.wat (node tools/wasm.mjs)', () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const check = spawnSync(process.execPath, ['tools/wasm.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(WASM_BASE64.length).toBeGreaterThan(1000);
  });
});

describe('TF Serving predict bodies read from JSON text (json-data-runs)', () => {
  const signature: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }];
  const several: TensorSpec[] = [
    { name: 'x', datatype: 'FP32', shape: [-1, 2, 2] },
    { name: 'ids', datatype: 'INT64', shape: [-1] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
  ];

  /** The fast path (bytes) against the plain one (text): the same request, or the same error. */
  function sameAsPlain(
    body: string,
    specs: TensorSpec[],
    fastPath?: boolean,
  ): PredictRequest | string {
    const outcome = (input: Buffer | string) => {
      try {
        return decodePredictRequest(input, specs);
      } catch (error) {
        return (error as Error).message;
      }
    };
    const fast = outcome(Buffer.from(body));
    expect(fast).toEqual(outcome(body));
    // Taken by the fast path whenever the plain one succeeds (errors are worded there), but
    // for a 64-bit integer past 2^53, which only the plain path reads exactly.
    const taken = decodePredictWithDataRuns(Buffer.from(body), specs);
    expect(taken !== undefined, body).toBe(fastPath ?? typeof fast !== 'string');
    return fast;
  }

  it('reads rows and columns, bare or by input name, into the same tensors as the plain path', () => {
    const random = seededRandom(3);
    const row = () => Array.from({ length: 3 }, () => random() * 100 - 50);
    const rows = [row(), row(), row(), row()];
    for (const body of [
      { instances: rows },
      { instances: rows.map((x) => ({ x })) },
      { inputs: rows },
      { inputs: { x: rows } },
      { signature_name: 'serving_default', instances: rows },
    ]) {
      const request = sameAsPlain(JSON.stringify(body), signature) as PredictRequest;
      expect(request.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: [4, 3] });
      expect(request.inputs[0]!.data).toBeInstanceOf(Float32Array);
    }
    const mixed = {
      instances: [
        {
          x: [
            [1, 2],
            [3, 4],
          ],
          ids: 9007199254740993,
          text: { b64: 'aGk=' },
        },
        {
          x: [
            [5, 6],
            [7, 8.5],
          ],
          ids: 2,
          text: { b64: 'eW8=' },
        },
      ],
    };
    const text = JSON.stringify(mixed).replace('9007199254740992', '9007199254740993');
    const request = sameAsPlain(text, several, false) as PredictRequest;
    expect(request.inputs.map((input) => input.shape)).toEqual([[2, 2, 2], [2], [2]]);
    expect(Array.from(request.inputs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8.5]);
    expect(Array.from(request.inputs[1]!.data as BigInt64Array)).toEqual([9007199254740993n, 2n]);
    const small = sameAsPlain(text.replace('9007199254740993', '7'), several) as PredictRequest;
    expect(Array.from(small.inputs[1]!.data as BigInt64Array)).toEqual([7n, 2n]);
    expect(small.inputs[2]!.data).toEqual([Buffer.from('hi'), Buffer.from('yo')]);
  });

  it('answers ragged nesting, shape mismatches and empty instances as the plain path does', () => {
    for (const body of [
      '{"instances": [[1, 2, 3], [4, 5]]}',
      '{"instances": [[1, 2, 3], 4]}',
      '{"instances": [{"x": [1, 2, 3]}, {"x": [1, 2]}]}',
      '{"instances": [{"x": [1, 2, 3]}, {"y": [1, 2, 3]}]}',
      '{"instances": [{"x": [1, 2, 3]}, {"x": [1, 2, 3], "y": [1, 2, 3]}]}',
      '{"inputs": [[1, 2]]}',
      '{"instances": []}',
      '{"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}',
      '{"instances": [[1, 2, 3,]]}',
    ]) {
      expect(typeof sameAsPlain(body, signature), body).toBe('string');
    }
  });
});
