// Compares ways to write a numeric typed array as a JSON array; the fastest per kind is what
// json-writer.ts uses. Run: node libs/tensors/bench/json-array-writing.bench.mjs
const size = 200_000;
const floats = Float32Array.from({ length: size }, (_, i) => Math.fround(Math.sin(i) * 1000));
const ints = Int32Array.from({ length: size }, (_, i) => i * 7 - 100_000);
const bigints = BigInt64Array.from({ length: size }, (_, i) => BigInt(i * 12345 - 7));
const bools = Uint8Array.from({ length: size * 5 }, (_, i) => (i % 3 === 0 ? 1 : 0));

const toPlainArray = (data) => {
  const values = new Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = data[i];
  return values;
};
const writers = {
  'TypedArray#join': (data) => `[${data.join(',')}]`,
  'JSON.stringify(Array.from)': (data) => JSON.stringify(Array.from(data)),
  'JSON.stringify(loop copy)': (data) => JSON.stringify(toPlainArray(data)),
  'string concatenation': (data) => {
    let text = '[';
    for (let i = 0; i < data.length; i++) text += (i === 0 ? '' : ',') + data[i];
    return `${text}]`;
  },
};
const boolWriters = {
  "join of 'true'/'false'": (data) =>
    `[${Array.from(data, (v) => (v === 0 ? 'false' : 'true')).join(',')}]`,
  'JSON.stringify(booleans)': (data) => JSON.stringify(Array.from(data, (v) => v !== 0)),
};

function best(run, data) {
  let fastest = Infinity;
  for (let round = 0; round < 8; round++) {
    const start = performance.now();
    run(data);
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest.toFixed(1);
}

for (const [label, data] of [
  ['FP32', floats],
  ['INT32', ints],
  ['INT64', bigints],
]) {
  for (const [name, run] of Object.entries(writers)) {
    if (label === 'INT64' && name.startsWith('JSON')) continue; // JSON.stringify rejects bigint
    console.log(`${label.padEnd(6)} ${name.padEnd(28)} ${best(run, data)} ms`);
  }
}
for (const [name, run] of Object.entries(boolWriters)) {
  console.log(`BOOL   ${name.padEnd(28)} ${best(run, bools)} ms`);
}
