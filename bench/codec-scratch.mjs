import { decodeInferRequest, encodeInferResponse } from '@maas/tensors';
const ROWS = 1_000_000;
const data = new Array(ROWS * 4); for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.random()*1e6)/1e3;
const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [ROWS, 4], data }] }));
for (let k = 0; k < 2; k++) {
let t = performance.now();
const req = decodeInferRequest(body, { maxElements: 16 * 1024 * 1024 });
console.log('decode ms', (performance.now() - t).toFixed(0), req.inputs[0].data.constructor.name);
const out = new Float32Array(ROWS * 3); for (let i = 0; i < out.length; i++) out[i] = Math.random();
t = performance.now();
const enc = encodeInferResponse({ modelName: 'linear', modelVersion: '1', outputs: [{ name: 'output', datatype: 'FP32', shape: [ROWS, 3], data: out }] }, {});
console.log('encode ms', (performance.now() - t).toFixed(0), (enc.body.length/1048576).toFixed(1), 'MiB');
}
