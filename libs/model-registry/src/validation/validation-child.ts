// The validation child's entry point (forked by ValidationSandbox, one process per upload).
// It reads one artifact from the path it is sent, validates it with the same code that ran in
// the gateway before (sandbox check, onnxruntime session, TF.js load) and reports the signature
// or the refusal over IPC. It reads no environment and holds no secret: it is given none.
import { readFile } from 'node:fs/promises';
import { inspectOnnxModel } from './onnx-inspector.js';
import { inspectTfjsArchive } from './tfjs-archive.js';
import type { ValidationReply, ValidationTask } from './validation-sandbox.js';
import { InvalidModelError, ValidationLimitError } from './validation-errors.js';

async function validate(task: ValidationTask): Promise<ValidationReply> {
  try {
    const bytes = await readFile(task.file);
    const signature =
      task.format === 'tfjs'
        ? await inspectTfjsArchive(bytes, task.unpack)
        : await inspectOnnxModel(bytes);
    return { type: 'result', signature: { inputs: signature.inputs, outputs: signature.outputs } };
  } catch (error) {
    if (error instanceof ValidationLimitError) {
      return { type: 'refused', limit: error.limit, message: error.message };
    }
    if (error instanceof InvalidModelError) return { type: 'refused', message: error.message };
    // V8 could not allocate a buffer or string: the heap cap, or the memory left under it.
    if (
      error instanceof RangeError &&
      /allocation failed|invalid (array|string) length/i.test(error.message)
    ) {
      return { type: 'refused', limit: 'memory', message: error.message };
    }
    return { type: 'failed', message: error instanceof Error ? error.message : String(error) };
  }
}

process.once('message', (task: ValidationTask) => {
  void validate(task).then((reply) => process.send!(reply, () => process.exit(0)));
});
process.send!({ type: 'ready' } satisfies ValidationReply);
