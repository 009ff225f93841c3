/**
 * The command line's grammar: commands are word paths (`models upload`), each with positional
 * arguments and options; global options may come anywhere. Hand-written rather than a parser
 * package so the CLI's only dependency is the SDK, and so every mistake is a UsageError
 * (exit 2) with a message that names it.
 */

/** A mistake on the command line: exit code 2, with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: CommandSpec,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  /** Long name without dashes (`api-key`). */
  name: string;
  short?: string;
  /** Placeholder of its value (`URL`); absent for a flag. */
  value?: string;
  /**
   * The value may be left out (`--json` alone is a flag, `--json '{…}'` carries a body): a
   * following word is taken as the value only when this matches it.
   */
  optionalValue?: RegExp;
  /** Given more than once, its values collect in a list. */
  multiple?: boolean;
  choices?: readonly string[];
  description: string;
}

export interface ArgSpec {
  name: string;
  optional?: boolean;
  /** Takes every remaining word (last argument only). */
  variadic?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  args: Record<string, string | string[] | undefined>;
  options: OptionValues;
}

export interface CommandSpec<Context = unknown> {
  /** Words that name it: `['models', 'upload']`. */
  path: readonly string[];
  args: readonly ArgSpec[];
  options: readonly OptionSpec[];
  summary: string;
  description?: string;
  examples?: readonly string[];
  run(context: Context, parsed: Parsed): Promise<number | void>;
}

const isOptionLike = (word: string) => word.startsWith('-') && word !== '-';

function findOption(name: string, specs: readonly OptionSpec[]): OptionSpec | undefined {
  return specs.find((s) => s.name === name || (s.short !== undefined && s.short === name));
}

/** Which command the words name: the longest path that the leading non-option words match. */
export function findCommand<C>(
  argv: readonly string[],
  commands: readonly CommandSpec<C>[],
  globals: readonly OptionSpec[],
): { command?: CommandSpec<C>; words: string[]; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') break;
    if (isOptionLike(word)) {
      rest.push(word);
      const spec = findOption(word.replace(/^--?/, '').split('=')[0]!, globals);
      if (spec?.value && !spec.optionalValue && !word.includes('=') && i + 1 < argv.length) {
        rest.push(argv[++i]!);
      }
      continue;
    }
    const candidate = [...words, word];
    const prefixOfSome = commands.some((c) => candidate.every((w, k) => c.path[k] === w));
    if (!prefixOfSome) break;
    words.push(word);
  }
  rest.push(...argv.slice(i));
  const command = commands.find(
    (c) => c.path.length === words.length && c.path.every((w, k) => w === words[k]),
  );
  return { command, words, rest };
}

/** Reads a command's arguments and options (and the global ones) from its words. */
export function parseCommandArgs(
  command: CommandSpec<never> | CommandSpec<unknown>,
  argv: readonly string[],
  globals: readonly OptionSpec[],
): Parsed {
  const specs = [...command.options, ...globals];
  const options: OptionValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!isOptionLike(word)) {
      positionals.push(word);
      continue;
    }
    const long = word.startsWith('--');
    const [rawName, inline] = long
      ? [
          word.slice(2).split('=')[0]!,
          word.includes('=') ? word.slice(word.indexOf('=') + 1) : undefined,
        ]
      : [word.slice(1), undefined];
    const spec = findOption(rawName, specs);
    if (!spec || (!long && spec.short !== rawName) || (long && spec.name !== rawName)) {
      throw new UsageError(`unknown option ${word}`, command as CommandSpec);
    }
    let value: string | boolean;
    if (!spec.value) {
      if (inline !== undefined) {
        throw new UsageError(`--${spec.name} takes no value`, command as CommandSpec);
      }
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else if (spec.optionalValue) {
      const next = argv[i + 1];
      value = next !== undefined && spec.optionalValue.test(next) ? (i++, next) : true;
      // Given both ways (`--json BODY --json`), the value stays and the bare use is kept
      // apart: `${name}:bare`.
      if (value === true) options[`${spec.name}:bare`] = true;
      if (value === true && options[spec.name] !== undefined) continue;
    } else {
      const next = argv[i + 1];
      if (next === undefined) {
        throw new UsageError(
          `--${spec.name} needs a value (${spec.value})`,
          command as CommandSpec,
        );
      }
      value = next;
      i += 1;
    }
    if (typeof value === 'string' && spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(
        `--${spec.name} must be one of ${spec.choices.join(', ')} (got '${value}')`,
        command as CommandSpec,
      );
    }
    if (spec.multiple) {
      const list = (options[spec.name] as string[] | undefined) ?? [];
      list.push(String(value));
      options[spec.name] = list;
    } else {
      options[spec.name] = value;
    }
  }
  const args: Parsed['args'] = {};
  let p = 0;
  for (const arg of command.args) {
    if (arg.variadic) {
      const values = positionals.slice(p);
      if (values.length === 0 && !arg.optional) {
        throw new UsageError(`missing ${arg.name}`, command as CommandSpec);
      }
      args[arg.name] = values;
      p = positionals.length;
      continue;
    }
    const value = positionals[p];
    if (value === undefined && !arg.optional) {
      throw new UsageError(`missing ${arg.name}`, command as CommandSpec);
    }
    args[arg.name] = value;
    p += 1;
  }
  if (p < positionals.length) {
    throw new UsageError(`unexpected argument '${positionals[p]}'`, command as CommandSpec);
  }
  return { args, options };
}

function argUsage(arg: ArgSpec): string {
  const name = arg.variadic ? `${arg.name}...` : arg.name;
  return arg.optional ? `[${name}]` : name;
}

function optionUsage(spec: OptionSpec): string {
  const flag = `${spec.short ? `-${spec.short}, ` : ''}--${spec.name}`;
  if (!spec.value) return flag;
  return spec.optionalValue ? `${flag} [${spec.value}]` : `${flag} ${spec.value}`;
}

function optionLines(specs: readonly OptionSpec[]): string[] {
  const left = specs.map(optionUsage);
  const width = Math.max(...left.map((l) => l.length), 0);
  return specs.map((spec, i) => {
    const choices = spec.choices ? ` (${spec.choices.join(' | ')})` : '';
    return `  ${left[i]!.padEnd(width)}  ${spec.description}${choices}`;
  });
}

export function commandUsage(command: CommandSpec<never> | CommandSpec<unknown>): string {
  return ['maas', ...command.path, ...command.args.map(argUsage)].join(' ');
}

/** `maas models upload --help`. */
export function commandHelp(
  command: CommandSpec<never> | CommandSpec<unknown>,
  globals: readonly OptionSpec[],
): string {
  const lines = [`Usage: ${commandUsage(command)} [options]`, '', command.summary];
  if (command.description) lines.push('', command.description);
  if (command.options.length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Global options:', ...optionLines(globals));
  if (command.examples?.length) {
    lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  }
  return `${lines.join('\n')}\n`;
}

/** `maas --help` and `maas models --help`: the commands under `prefix`. */
export function groupHelp(
  prefix: readonly string[],
  commands: readonly (CommandSpec<never> | CommandSpec<unknown>)[],
  globals: readonly OptionSpec[],
  intro: string,
): string {
  const under = commands.filter((c) => prefix.every((w, k) => c.path[k] === w));
  const usages = under.map((c) => commandUsage(c).replace(/^maas /, ''));
  const width = Math.max(...usages.map((u) => u.length));
  const lines = [
    `Usage: maas ${prefix.length ? `${prefix.join(' ')} ` : ''}<command> [options]`,
    '',
    intro,
    '',
    'Commands:',
    ...under.map((c, i) => `  ${usages[i]!.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(globals),
    '',
    `Run 'maas ${prefix.length ? `${prefix.join(' ')} ` : ''}<command> --help' for a command's options.`,
  ];
  return `${lines.join('\n')}\n`;
}
