import { useState } from 'react';
import type { ModelVersion } from '../../../api/types';
import { UploadControls, useUpload } from '../../../components/Upload';
import { Panel, SelectField } from '../../../components/ui';

const FORMATS = [
  { value: 'onnx', label: 'ONNX (.onnx)', accept: '.onnx' },
  { value: 'tfjs', label: 'TensorFlow.js archive (.zip, .tar.gz)', accept: '.zip,.tar.gz,.tgz' },
];

/** Uploads a new version: an ONNX file or a TF.js archive, streamed with a progress bar. */
export function UploadPanel({
  model,
  onUploaded,
}: {
  model: string;
  onUploaded: (version: ModelVersion) => void;
}) {
  const [format, setFormat] = useState('onnx');
  const upload = useUpload<ModelVersion>({
    path: () => `/api/models/${encodeURIComponent(model)}/versions?format=${format}`,
    contentType: 'application/octet-stream',
    onDone: onUploaded,
  });

  return (
    <Panel title="Upload a version" testId="upload-panel">
      <div className="form-stack">
        <SelectField label="Format" value={format} onValue={setFormat} options={FORMATS} />
        <UploadControls
          upload={upload}
          label="Choose a model file"
          accept={FORMATS.find((f) => f.value === format)!.accept}
          testId="model-drop"
          button="Upload version"
          describe={(done) => (
            <>
              Version {done.version} uploaded: {done.status}
              {done.statusReason ? ` (${done.statusReason})` : ''}.
            </>
          )}
        />
        <p className="hint">
          The gateway validates the model in a sandbox before it is served; the version’s signature
          (inputs and outputs) comes from the file.
        </p>
      </div>
    </Panel>
  );
}
