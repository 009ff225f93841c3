/** A small CSV reader for `maas predict --csv`: numbers, an optional header row, quotes. */
export interface NumericCsv {
  header?: string[];
  rows: number[][];
}

function splitLine(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        current += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        current += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      cells.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  cells.push(current);
  return cells.map((c) => c.trim());
}

const isNumber = (cell: string) => cell !== '' && Number.isFinite(Number(cell));

/**
 * Rows of numbers. A first row that is not all numbers is the header; any other cell that is
 * not a number is an error naming its line and column.
 */
export function readNumericCsv(text: string): NumericCsv {
  const lines = text
    .split(/\r\n|\n|\r/)
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => line.trim() !== '');
  if (lines.length === 0) throw new Error('the CSV is empty');
  let header: string[] | undefined;
  const first = splitLine(lines[0]!.line);
  if (!first.every(isNumber)) {
    header = first;
    lines.shift();
  }
  if (lines.length === 0) throw new Error('the CSV has a header but no rows');
  const width = header?.length ?? first.length;
  const rows = lines.map(({ line, number }) => {
    const cells = splitLine(line);
    if (cells.length !== width) {
      throw new Error(`CSV line ${number} has ${cells.length} values, expected ${width}`);
    }
    return cells.map((cell, column) => {
      if (!isNumber(cell)) {
        throw new Error(`CSV line ${number}, column ${column + 1}: '${cell}' is not a number`);
      }
      return Number(cell);
    });
  });
  return { ...(header && { header }), rows };
}
