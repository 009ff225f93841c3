import { describe, expect, it } from 'vitest';
import { CsvFormatError, profileCsv, readCsvTable } from './csv-reader.js';

/** A CSV of `rows` rows from a function of the row index. */
function csv(header: string, rows: number, row: (i: number) => string): Buffer {
  return Buffer.from([header, ...Array.from({ length: rows }, (_, i) => row(i))].join('\n'));
}

async function labelOf(data: Buffer): Promise<string[]> {
  const summary = await profileCsv(data);
  return summary.columns.filter((c) => c.label).map((c) => c.name);
}

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

  it('flags the column that looks like the class label', async () => {
    const species = ['setosa', 'versicolor', 'virginica'];
    // Named like a target, even when not last: a string column or integer class ids.
    expect(
      await labelOf(csv('species,length,width', 30, (i) => `${species[i % 3]},${i / 10},${i % 7}`)),
    ).toEqual(['species']);
    expect(await labelOf(csv('target,a,b', 30, (i) => `${i % 2},${i * 1.5},${i % 4}`))).toEqual([
      'target',
    ]);
    // Else the last column when it has few values, shown in the profile with its type kept.
    const summary = await profileCsv(
      csv(
        'a,colour,kind',
        40,
        (i) => `${i * 0.5},${['red', 'blue'][i % 2]},${['x', 'y', 'z'][i % 3]}`,
      ),
    );
    expect(summary.columns.map((c) => [c.name, c.type, c.label ?? false])).toEqual([
      ['a', 'numeric', false],
      ['colour', 'categorical', false],
      ['kind', 'categorical', true],
    ]);
    // Else the only text column with few values.
    expect(
      await labelOf(csv('grade,score,weight', 40, (i) => `${'ABC'[i % 3]},${i * 1.1},${i * 2.3}`)),
    ).toEqual(['grade']);
  });

  it('flags no label where nothing looks like one', async () => {
    // A continuous last column (regression), an id-like text column, and too few rows.
    expect(
      await labelOf(csv('id,x,y', 40, (i) => `row-${i},${i % 5},${(i * 0.37).toFixed(2)}`)),
    ).toEqual([]);
    expect(await labelOf(Buffer.from('x,label\n1,a\n2,b\n3,a\n'))).toEqual([]);
    // Two text columns with few values and no name or position to choose between them.
    expect(
      await labelOf(csv('a,b,c', 40, (i) => `${'pq'[i % 2]},${'rs'[i % 2]},${i * 0.3}`)),
    ).toEqual([]);
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

  it('reports a stray quote inside a field with its line', async () => {
    for (const text of ['a,b\n1,x"y\n', 'a,b\n1, "2"\n']) {
      const error = await failure(text);
      expect(error).toBeInstanceOf(CsvFormatError);
      expect(error.line).toBe(2);
      expect(error.message).toMatch(/^CSV line 2: Invalid Opening Quote/);
    }
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
