import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';

/** A CSV that cannot be a dataset; `line` is 1-based (the header is line 1). */
export class CsvFormatError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(
    readonly line: number,
    /** What is wrong, without the line (the message adds it). */
    readonly reason: string,
  ) {
    super(line > 0 ? `CSV line ${line}: ${reason}` : `CSV: ${reason}`);
    this.name = 'CsvFormatError';
  }
}

export type ColumnType = 'numeric' | 'categorical';

export interface ColumnSummary {
  name: string;
  type: ColumnType;
  /** Rows with an empty cell in this column. */
  missing: number;
  /** Distinct non-empty values, counted up to {@link DISTINCT_LIMIT} (+1 means "more"). */
  distinct: number;
  /** Numeric columns whose every value is a whole number. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** Categorical columns: the values seen, up to {@link LISTED_VALUES}. */
  values?: string[];
  /**
   * The column that looks like the prediction target (a class label): at most one per dataset,
   * see {@link likelyLabel}. Absent on the others.
   */
  label?: true;
}

export interface CsvSummary {
  rows: number;
  columns: ColumnSummary[];
}

export const DISTINCT_LIMIT = 1000;
/**
 * The longest record a dataset may have: a tabular row, not a file without line ends. Past it
 * the read stops (a CSV of one never-ending record is refused, not held in memory whole).
 */
export const MAX_RECORD_BYTES = 1024 * 1024;
const LISTED_VALUES = 100;

/** Names that say "this is what to predict" (compared case-insensitively). */
const LABEL_NAMES = new Set([
  'label',
  'labels',
  'class',
  'target',
  'species',
  'category',
  'y',
  'outcome',
]);
/** Most classes a label column may have (the trainer's classifier limit). */
const LABEL_MAX_CLASSES = 100;
/** Most distinct values of an integer column read as class ids rather than a quantity. */
const LABEL_MAX_INTEGER_CLASSES = 20;

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumber(raw: string): number | null {
  const text = raw.trim();
  if (!NUMBER_PATTERN.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

interface ColumnState {
  numeric: boolean;
  integer: boolean;
  missing: number;
  min: number;
  max: number;
  distinct: Set<string>;
}

/** Infers column types one record at a time (the gateway sees a dataset only as a stream). */
export class ColumnProfiler {
  private readonly states: ColumnState[];
  rows = 0;

  constructor(readonly header: string[]) {
    this.states = header.map(() => ({
      numeric: true,
      integer: true,
      missing: 0,
      min: Infinity,
      max: -Infinity,
      distinct: new Set<string>(),
    }));
  }

  add(record: string[]): void {
    this.rows += 1;
    record.forEach((raw, index) => {
      const state = this.states[index];
      const text = raw.trim();
      if (text === '') {
        state.missing += 1;
        return;
      }
      if (state.distinct.size <= DISTINCT_LIMIT) state.distinct.add(text);
      if (!state.numeric) return;
      const value = parseNumber(text);
      if (value === null) {
        state.numeric = false;
        return;
      }
      if (!Number.isInteger(value)) state.integer = false;
      if (value < state.min) state.min = value;
      if (value > state.max) state.max = value;
    });
  }

  summary(): CsvSummary {
    const columns = this.header.map((name, index): ColumnSummary => {
      const state = this.states[index];
      const present = this.rows - state.missing;
      const numeric = state.numeric && present > 0;
      const base = { name, missing: state.missing, distinct: state.distinct.size };
      if (numeric) {
        return {
          ...base,
          type: 'numeric',
          integer: state.integer,
          min: state.min,
          max: state.max,
        };
      }
      return {
        ...base,
        type: 'categorical',
        values: [...state.distinct].slice(0, LISTED_VALUES).sort(),
      };
    });
    const label = likelyLabel(columns, this.rows);
    if (label) label.label = true;
    return { rows: this.rows, columns };
  }
}

/**
 * The column most likely to be a class label, if any. A candidate has at least two distinct
 * values, and few of them: text with at most {@link LABEL_MAX_CLASSES}, or whole numbers with at
 * most {@link LABEL_MAX_INTEGER_CLASSES}; in both cases no more than half the row count (an id
 * or a free-text column is not a label). Among candidates: one named like a target (label,
 * class, target, species, …), else the last column, else the only text candidate.
 */
export function likelyLabel(columns: ColumnSummary[], rows: number): ColumnSummary | undefined {
  const candidate = (column: ColumnSummary) =>
    column.distinct >= 2 &&
    column.distinct <= rows / 2 &&
    (column.type === 'categorical'
      ? column.distinct <= LABEL_MAX_CLASSES
      : column.integer === true && column.distinct <= LABEL_MAX_INTEGER_CLASSES);
  const candidates = columns.filter(candidate);
  const named = candidates.find((column) => LABEL_NAMES.has(column.name.trim().toLowerCase()));
  if (named) return named;
  const last = columns[columns.length - 1];
  if (last && candidates.includes(last)) return last;
  const text = candidates.filter((column) => column.type === 'categorical');
  return text.length === 1 ? text[0] : undefined;
}

function checkHeader(header: string[]): string[] {
  const names = header.map((name) => name.trim());
  names.forEach((name, index) => {
    if (name === '') throw new CsvFormatError(1, `column ${index + 1} of the header has no name`);
  });
  if (names.every((name) => parseNumber(name) !== null)) {
    throw new CsvFormatError(
      1,
      'the first line must be a header naming the columns, but it holds only numbers',
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new CsvFormatError(1, `column name '${name}' appears twice`);
    seen.add(name);
  }
  return names;
}

export interface CsvVisitor {
  header?(names: string[]): void;
  record(fields: string[], line: number): void;
}

/**
 * Reads a CSV (comma-separated, RFC 4180 quoting, header first) and hands every record to the
 * visitor. Ragged rows, a missing header or no data rows reject with a CsvFormatError naming
 * the line.
 */
export async function scanCsv(source: Readable | Buffer, visitor: CsvVisitor): Promise<number> {
  const parser = parse({
    info: true,
    skip_empty_lines: true,
    bom: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let width = -1;
  let rows = 0;
  try {
    for await (const item of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const line = item.info.lines;
      if (width < 0) {
        const names = checkHeader(item.record);
        width = names.length;
        visitor.header?.(names);
        continue;
      }
      if (item.record.length !== width) {
        throw new CsvFormatError(
          line,
          `expected ${width} fields like the header, found ${item.record.length}`,
        );
      }
      rows += 1;
      visitor.record(item.record, line);
    }
  } catch (error) {
    input.unpipe(parser);
    if (error instanceof CsvFormatError) throw error;
    const parseError = error as Error & { code?: string; lines?: number };
    if (parseError.code === 'CSV_MAX_RECORD_SIZE') {
      throw new CsvFormatError(
        parseError.lines ?? 0,
        `a record is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MiB`,
      );
    }
    // Not every csv-parse code starts with CSV_ (INVALID_OPENING_QUOTE does not).
    if (error instanceof CsvError || parseError.code?.startsWith('CSV_')) {
      throw new CsvFormatError(parseError.lines ?? 0, parseError.message);
    }
    throw error;
  }
  if (width < 0) throw new CsvFormatError(0, 'the file is empty');
  if (rows === 0) throw new CsvFormatError(0, 'the file has a header but no data rows');
  return rows;
}

/** Types and counts of a CSV's columns, streaming. */
export async function profileCsv(source: Readable | Buffer): Promise<CsvSummary> {
  let profiler: ColumnProfiler | undefined;
  await scanCsv(source, {
    header: (names) => (profiler = new ColumnProfiler(names)),
    record: (fields) => profiler!.add(fields),
  });
  return profiler!.summary();
}

export interface CsvTable {
  header: string[];
  rows: string[][];
  summary: CsvSummary;
}

/** The whole table in memory, with the profile (the trainer's view). */
export async function readCsvTable(source: Readable | Buffer): Promise<CsvTable> {
  let profiler: ColumnProfiler | undefined;
  const rows: string[][] = [];
  let header: string[] = [];
  await scanCsv(source, {
    header: (names) => {
      header = names;
      profiler = new ColumnProfiler(names);
    },
    record: (fields) => {
      profiler!.add(fields);
      rows.push(fields.map((field) => field.trim()));
    },
  });
  return { header, rows, summary: profiler!.summary() };
}
