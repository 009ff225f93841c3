import type { TensorSpec } from '../../../api/types';

/** `input FP32 [-1, 2]` for each tensor. */
export function Signature({ tensors }: { tensors: TensorSpec[] | null }) {
  if (!tensors || tensors.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="plain-list">
      {tensors.map((t) => (
        <li key={t.name}>
          <code>{t.name}</code> {t.datatype} [{t.shape.join(', ')}]
        </li>
      ))}
    </ul>
  );
}
