import { describe, expect, it } from 'vitest';
import { readNumericCsv } from './csv.js';

describe('readNumericCsv', () => {
  it('skips a header row and blank lines; reads quoted numbers and CRLF', () => {
    expect(readNumericCsv('a,b\r\n1,2\r\n\r\n"3", 4.5\r\n')).toEqual({
      header: ['a', 'b'],
      rows: [
        [1, 2],
        [3, 4.5],
      ],
    });
    expect(readNumericCsv('1,2\n3,4')).toEqual({
      rows: [
        [1, 2],
        [3, 4],
      ],
    });
  });

  it('names the line and column of what is not a number, and ragged rows', () => {
    expect(() => readNumericCsv('a,b\n1,2\n3,x\n')).toThrow(
      "CSV line 3, column 2: 'x' is not a number",
    );
    expect(() => readNumericCsv('1,2\n3\n')).toThrow('CSV line 2 has 1 values, expected 2');
    expect(() => readNumericCsv('a,b\n')).toThrow('header but no rows');
    expect(() => readNumericCsv('\n\n')).toThrow('empty');
  });
});
