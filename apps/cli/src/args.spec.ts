import { describe, expect, it } from 'vitest';
import {
  commandHelp,
  type CommandSpec,
  findCommand,
  type OptionSpec,
  parseCommandArgs,
  UsageError,
} from './args.js';

const globals: OptionSpec[] = [
  { name: 'json', description: 'JSON' },
  { name: 'url', value: 'URL', description: 'gateway' },
];
const run = async () => undefined;
const upload: CommandSpec = {
  path: ['models', 'upload'],
  args: [{ name: 'NAME' }, { name: 'FILE' }],
  options: [{ name: 'format', value: 'F', choices: ['onnx', 'tfjs'], description: 'format' }],
  summary: 'upload',
  run,
};
const predict: CommandSpec = {
  path: ['predict'],
  args: [{ name: 'NAME' }],
  options: [
    { name: 'json', value: 'BODY', optionalValue: /^[{@]/, description: 'body or flag' },
    { name: 'param', short: 'p', value: 'k=v', multiple: true, description: 'params' },
  ],
  summary: 'predict',
  run,
};
const quotas: CommandSpec = {
  path: ['admin', 'quotas', 'set'],
  args: [{ name: 'TENANT' }, { name: 'k=v', variadic: true }],
  options: [],
  summary: 'quotas',
  run,
};
const commands = [upload, predict, quotas];

function parse(argv: string[]) {
  const found = findCommand(argv, commands, globals);
  if (!found.command) throw new Error(`no command for ${argv.join(' ')}`);
  return { command: found.command, ...parseCommandArgs(found.command, found.rest, globals) };
}

describe('command lines', () => {
  it('finds the command by its words, with global options before or after them', () => {
    const parsed = parse(['--url', 'http://x', 'models', 'upload', 'iris', 'm.onnx', '--json']);
    expect(parsed.command).toBe(upload);
    expect(parsed.args).toEqual({ NAME: 'iris', FILE: 'm.onnx' });
    expect(parsed.options).toEqual({ url: 'http://x', json: true });
  });

  it('takes a model named like a command word as an argument', () => {
    expect(parse(['models', 'upload', 'upload', 'f', '--format=tfjs']).args.NAME).toBe('upload');
  });

  it('reads an optional value only when it looks like one', () => {
    expect(parse(['predict', 'm', '--json', '{"inputs":[]}']).options.json).toBe('{"inputs":[]}');
    expect(parse(['predict', 'm', '--json', '@body.json']).options.json).toBe('@body.json');
    const flag = parse(['predict', '--json', 'm']);
    expect(flag.options.json).toBe(true);
    expect(flag.args.NAME).toBe('m');
    // Both: a body and machine output.
    const both = parse(['predict', 'm', '--json', '--json', '{}']).options;
    expect([both.json, both['json:bare']]).toEqual(['{}', true]);
    expect(parse(['predict', 'm', '--json', '{}', '--json']).options).toEqual({
      json: '{}',
      'json:bare': true,
    });
  });

  it('collects repeated options and variadic arguments', () => {
    expect(parse(['predict', 'm', '-p', 'a=1', '--param', 'b=[2]']).options.param).toEqual([
      'a=1',
      'b=[2]',
    ]);
    expect(parse(['admin', 'quotas', 'set', 'acme', 'burst=3', 'maxModels=null']).args).toEqual({
      TENANT: 'acme',
      'k=v': ['burst=3', 'maxModels=null'],
    });
  });

  it('answers every mistake with a UsageError that names it', () => {
    const mistakes: [string[], RegExp][] = [
      [['models', 'upload', 'iris'], /missing FILE/],
      [['models', 'upload', 'a', 'b', 'c'], /unexpected argument 'c'/],
      [['models', 'upload', 'a', 'b', '--nope'], /unknown option --nope/],
      [['models', 'upload', 'a', 'b', '--format', 'pt'], /must be one of onnx, tfjs/],
      [['models', 'upload', 'a', 'b', '--format'], /--format needs a value/],
      [['models', 'upload', 'a', 'b', '--json=1'], /--json takes no value/],
      [['admin', 'quotas', 'set', 'acme'], /missing k=v/],
    ];
    for (const [argv, message] of mistakes) {
      expect(() => parse(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parse(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('leaves words after -- as arguments', () => {
    expect(parse(['predict', '--', '--weird-name']).args.NAME).toBe('--weird-name');
  });

  it('writes help with the usage line, options, choices and globals', () => {
    const help = commandHelp(upload, globals);
    expect(help).toContain('Usage: maas models upload NAME FILE [options]');
    expect(help).toMatch(/--format F\s+format \(onnx \| tfjs\)/);
    expect(help).toMatch(/--url URL\s+gateway/);
  });
});
