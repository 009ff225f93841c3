// Open Inference Protocol request bodies for the serving benchmarks: `rows` of 784 FP32 values
// for the MLP's `input`, as JSON or as JSON header + binary tensor data.

export const jsonBody = (rows) =>
  JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 784], data: rows.flat() }],
  });

export function binaryBody(rows) {
  const data = Float32Array.from(rows.flat());
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [rows.length, 784],
          parameters: { binary_data_size: data.byteLength },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return { body: Buffer.concat([header, Buffer.from(data.buffer)]), headerLength: header.length };
}
