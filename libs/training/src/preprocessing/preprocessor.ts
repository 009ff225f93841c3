import { parseNumber } from '../data/csv-reader.js';

export type FeatureEncoding =
  | { name: string; type: 'numeric'; mean: number; scale: number }
  | { name: string; type: 'categorical'; categories: string[] };

export interface PreprocessorState {
  features: FeatureEncoding[];
  standardize: boolean;
}

/**
 * Turns raw feature cells into model inputs: numeric columns imputed with the training mean
 * (and standardised for neural networks), categoricals one-hot encoded over the categories
 * seen in training (an unseen category encodes as all zeros). Learned on the training split
 * only, then baked into the exported ONNX graph.
 */
export class Preprocessor {
  readonly width: number;

  constructor(readonly state: PreprocessorState) {
    this.width = state.features.reduce(
      (sum, f) => sum + (f.type === 'numeric' ? 1 : f.categories.length),
      0,
    );
  }

  static fit(
    rows: readonly (readonly string[])[],
    features: readonly { name: string; type: 'numeric' | 'categorical' }[],
    options: { standardize: boolean },
  ): Preprocessor {
    const encodings = features.map((feature, column): FeatureEncoding => {
      if (feature.type === 'numeric') {
        let count = 0;
        let sum = 0;
        let sumSquares = 0;
        for (const row of rows) {
          const value = parseNumber(row[column]);
          if (value === null) continue;
          count += 1;
          sum += value;
          sumSquares += value * value;
        }
        const mean = count > 0 ? sum / count : 0;
        const variance = count > 0 ? Math.max(0, sumSquares / count - mean * mean) : 0;
        const std = Math.sqrt(variance);
        return {
          name: feature.name,
          type: 'numeric',
          mean: Math.fround(mean),
          scale: options.standardize && std > 1e-12 ? Math.fround(std) : 1,
        };
      }
      const categories = [...new Set(rows.map((row) => row[column]).filter((v) => v !== ''))];
      return { name: feature.name, type: 'categorical', categories: categories.sort() };
    });
    return new Preprocessor({ features: encodings, standardize: options.standardize });
  }

  /** Encoded row, each value rounded to float32 as the exported graph computes it. */
  transform(row: readonly string[], out = new Float32Array(this.width)): Float32Array {
    let offset = 0;
    this.state.features.forEach((feature, column) => {
      const raw = row[column];
      if (feature.type === 'numeric') {
        const value = parseNumber(raw);
        const x = value === null ? feature.mean : Math.fround(value);
        out[offset] = this.state.standardize
          ? Math.fround(Math.fround(x - feature.mean) / feature.scale)
          : x;
        offset += 1;
      } else {
        const index = feature.categories.indexOf(raw);
        if (index >= 0) out[offset + index] = 1;
        offset += feature.categories.length;
      }
    });
    return out;
  }

  /**
   * Encoded rows as views of one row-major matrix, so trainers use it without copying (one
   * allocation instead of one per row).
   */
  transformAll(rows: readonly (readonly string[])[]): Float32Array[] {
    const matrix = new Float32Array(rows.length * this.width);
    return rows.map((row, i) =>
      this.transform(row, matrix.subarray(i * this.width, (i + 1) * this.width)),
    );
  }

  get allNumeric(): boolean {
    return this.state.features.every((f) => f.type === 'numeric');
  }
}
