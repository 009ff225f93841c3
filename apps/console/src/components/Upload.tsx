import { type ReactNode, useState } from 'react';
import { upload } from '../api/client';
import { useAction } from '../lib/use-action';
import { FileDrop } from './FileDrop';
import { ErrorNotice, Notice, ProgressBar } from './ui';

/**
 * A file to upload and its upload: the chosen file, the progress while it streams (null
 * otherwise), the gateway's answer once it is done, the error if it failed. `send` POSTs the
 * file to `path(file)`, then forgets the file and calls `onDone`.
 */
export function useUpload<T>({
  path,
  contentType,
  onDone,
}: {
  path: (file: File) => string;
  contentType: string;
  onDone?: (result: T) => void;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState<T | null>(null);
  const { run, error } = useAction(async () => {
    if (file === null) return;
    setDone(null);
    setProgress(0);
    try {
      const result = await upload<T>(path(file), {
        body: file,
        contentType,
        onProgress: setProgress,
      });
      setDone(result);
      setFile(null);
      onDone?.(result);
    } finally {
      setProgress(null);
    }
  });
  const choose = (chosen: File) => {
    setFile(chosen);
    setDone(null);
  };
  return { file, choose, progress, done, error, send: run };
}

/**
 * The file drop zone, the progress bar (then `describe` of the answer), the error and the
 * upload button of an upload form.
 */
export function UploadControls<T>({
  upload: { file, choose, progress, done, error, send },
  label,
  accept,
  testId,
  button,
  describe,
}: {
  upload: ReturnType<typeof useUpload<T>>;
  label: string;
  accept: string;
  testId: string;
  button: string;
  describe: (done: T) => ReactNode;
}) {
  return (
    <>
      <FileDrop
        label={label}
        accept={accept}
        file={file}
        onFile={choose}
        disabled={progress !== null}
        testId={testId}
      />
      <div className="progress-slot">
        {progress !== null ? (
          <ProgressBar value={progress} label="Upload progress" />
        ) : done !== null ? (
          <Notice tone="good">{describe(done)}</Notice>
        ) : null}
      </div>
      <ErrorNotice error={error} />
      <div>
        <button
          type="button"
          className="button-primary"
          disabled={file === null || progress !== null}
          onClick={() => void send()}
        >
          {button}
        </button>
      </div>
    </>
  );
}
