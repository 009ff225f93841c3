import { chmodSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let emptyDirectory: string | undefined;

/**
 * An empty directory nobody can write into (0555), made once per process and removed at exit:
 * where onnxruntime is told to look for external initializer files, so that even a model that
 * slipped past assertSelfContainedOnnx finds nothing to read.
 */
export function emptyExternalDataDirectory(): string {
  if (emptyDirectory === undefined) {
    const directory = mkdtempSync(join(tmpdir(), 'maas-ort-empty-'));
    chmodSync(directory, 0o555);
    process.once('exit', () => {
      try {
        rmdirSync(directory);
      } catch {
        // already gone, or the temp dir is not ours to clean
      }
    });
    emptyDirectory = directory;
  }
  return emptyDirectory;
}

/**
 * onnxruntime session config entries (`extra.session` of onnxruntime-node's session options)
 * every session of a tenant's model is created with, validator and worker alike:
 * - `model_external_initializers_file_folder_path`: external data resolves in an empty
 *   directory (onnxruntime already refuses absolute and escaping locations; a relative one
 *   would otherwise resolve against the process's working directory);
 * - `load_model_format = ONNX`: the bytes are parsed as the ONNX protobuf the sandbox check
 *   read, never as an ORT-format flatbuffer it could not.
 */
export function ortSandboxSessionConfig(): Record<string, string> {
  return {
    model_external_initializers_file_folder_path: emptyExternalDataDirectory(),
    load_model_format: 'ONNX',
  };
}
