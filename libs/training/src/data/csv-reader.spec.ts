import { describe, expect, it } from 'vitest';
import { CsvFormatError, profileCsv, readCsvTable } from './csv-reader.js';

async function failure(text: string): Promise<CsvFormatError> {
  const error = await profileCsv(Buffer.from(text)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CsvFormatError);
  return error as CsvFormatError;
}

describe('CSV datasets', () => {
  it('infers numeric and categorical columns and counts rows', async () => {
    const summary = await profileCsv(
      Buffer.from('x,y,"colour, name",label\n1,2.5,red,a\n-3,1e2,"blue, dark",b\n4,,red,a\n'),
    );
    expect(summary.rows).toBe(3);
    expect(summary.columns.map((c) => [c.name, c.type])).toEqual([
      ['x', 'numeric'],
      ['y', 'numeric'],
      ['colour, name', 'categorical'],
      ['label', 'categorical'],
    ]);
    expect(summary.columns[0]).toMatchObject({ integer: true, min: -3, max: 4, distinct: 3 });
    expect(summary.columns[1]).toMatchObject({ integer: false, missing: 1 });
    expect(summary.columns[2].values).toEqual(['blue, dark', 'red']);
  });

  it('names the line of a ragged row', async () => {
    const error = await failure('a,b,c\n1,2,3\n4,5\n6,7,8\n');
    expect(error.line).toBe(3);
    expect(error.message).toContain('line 3');
    expect(error.message).toContain('expected 3 fields');
  });

  it('rejects an empty file, a header without rows, and a file without header', async () => {
    expect((await failure('')).message).toContain('empty');
    expect((await failure('a,b\n')).message).toContain('no data rows');
    const noHeader = await failure('1,2,3\n4,5,6\n');
    expect(noHeader.line).toBe(1);
    expect(noHeader.message).toContain('header');
    expect((await failure('a,,c\n1,2,3\n')).message).toContain('no name');
    expect((await failure('a,b,a\n1,2,3\n')).message).toContain('twice');
  });

  it('reports an unclosed quote with its line', async () => {
    const error = await failure('a,b\n1,2\n"3,4\n');
    expect(error.line).toBeGreaterThanOrEqual(3);
  });

  it('keeps the rows for training', async () => {
    const table = await readCsvTable(Buffer.from('\ufeffa,b\n 1 ,x\n2,y\n'));
    expect(table.header).toEqual(['a', 'b']);
    expect(table.rows).toEqual([
      ['1', 'x'],
      ['2', 'y'],
    ]);
  });
});
