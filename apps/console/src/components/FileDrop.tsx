import { type DragEvent, useId, useRef, useState } from 'react';

/**
 * Choose a file with the keyboard (a real file input behind a visible label) or drop it on
 * the zone. `onFile` receives the file; the zone shows its name.
 */
export function FileDrop({
  label,
  accept,
  onFile,
  disabled,
  file,
  testId,
}: {
  label: string;
  accept?: string;
  onFile: (file: File) => void;
  disabled?: boolean;
  file: File | null;
  testId?: string;
}) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const drop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setOver(false);
    if (disabled) return;
    const dropped = event.dataTransfer.files[0];
    if (dropped) onFile(dropped);
  };
  return (
    <div
      className={`drop-zone${over ? ' drop-zone-over' : ''}`}
      onDragOver={(event) => {
        event.preventDefault();
        if (!disabled) setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
      data-testid={testId}
    >
      <input
        ref={input}
        id={id}
        type="file"
        accept={accept}
        className="visually-hidden"
        disabled={disabled}
        onChange={(event) => {
          const chosen = event.target.files?.[0];
          if (chosen) onFile(chosen);
          // The same file chosen again must fire again.
          event.target.value = '';
        }}
      />
      <label htmlFor={id} className="drop-label">
        <span className="button-like">{label}</span>
        <span className="muted">or drop a file here</span>
      </label>
      <p className="drop-file" aria-live="polite">
        {file ? `${file.name} (${file.size.toLocaleString()} bytes)` : 'No file chosen'}
      </p>
    </div>
  );
}
