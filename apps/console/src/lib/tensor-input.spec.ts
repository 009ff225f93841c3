import { describe, expect, it } from 'vitest';
import { exampleFor, tensorFromText } from './tensor-input';

const input = { name: 'input', datatype: 'FP32', shape: [-1, 2] };

describe('the try-it request builder', () => {
  it('offers an example of the input’s shape, variable dimensions as 1', () => {
    expect(exampleFor(input)).toBe('[[0,0]]');
    expect(exampleFor({ name: 'words', datatype: 'BYTES', shape: [-1] })).toBe('[""]');
    expect(exampleFor({ name: 'image', datatype: 'FP32', shape: [-1, 3, 224, 224] })).toBe('');
  });

  it('takes nested or flat JSON and derives the shape from the signature', () => {
    expect(tensorFromText(input, '[[3, 4], [5, 6]]')).toEqual({
      name: 'input',
      datatype: 'FP32',
      shape: [2, 2],
      data: [3, 4, 5, 6],
    });
    expect(tensorFromText(input, '[3, 4, 5, 6]').shape).toEqual([2, 2]);
    expect(tensorFromText({ name: 'x', datatype: 'INT64', shape: [3] }, '[1,2,3]').shape).toEqual([
      3,
    ]);
  });

  it('says what is wrong before anything is sent', () => {
    expect(() => tensorFromText(input, '[[1, 2], [3]]')).toThrow('not all the same length');
    expect(() => tensorFromText(input, '[[1, 2, 3]]')).toThrow(
      'dimension 1 is 3, the model takes 2',
    );
    expect(() => tensorFromText(input, '[1, 2, 3]')).toThrow('do not fill the shape');
    expect(() => tensorFromText(input, '[["a", "b"]]')).toThrow('must be a number');
    expect(() => tensorFromText(input, '[[1, 2]')).toThrow('not valid JSON');
    expect(() => tensorFromText(input, '[[[1, 2]]]')).toThrow('3 dimensions, the model takes 2');
  });
});
