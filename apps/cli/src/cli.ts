import { MaasApiError, MaasNetworkError } from '@maas/sdk';
import {
  commandHelp,
  findCommand,
  groupHelp,
  type OptionSpec,
  parseCommandArgs,
  UsageError,
} from './args.js';
import { adminCommands } from './commands/admin.js';
import { datasetCommands } from './commands/datasets.js';
import { loginCommands } from './commands/login.js';
import { modelCommands } from './commands/models.js';
import { predictCommands } from './commands/predict.js';
import { trainingCommands } from './commands/training.js';
import { usageCommands } from './commands/usage.js';
import { CliError, Context, type Io } from './context.js';

export const VERSION = '0.1.0';

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'json', description: 'print machine-readable JSON on stdout' },
  { name: 'url', value: 'URL', description: 'the gateway (default: $MAAS_URL, else the login)' },
  {
    name: 'api-key',
    value: 'KEY',
    description: 'a tenant API key (default: $MAAS_API_KEY, else the login)',
  },
  { name: 'help', short: 'h', description: 'show help' },
];

export const COMMANDS = [
  ...loginCommands,
  ...modelCommands,
  ...predictCommands,
  ...datasetCommands,
  ...trainingCommands,
  ...usageCommands,
  ...adminCommands,
];

const INTRO =
  'maas: the command line of the maas platform (models, inference, datasets, training,\n' +
  'usage and administration). Exit codes: 0 ok, 1 failure, 2 usage error.';

/** The innermost cause's message (fetch says "fetch failed"; its cause says why). */
function rootCause(error: Error): string {
  let current: unknown = error.cause ?? error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const { code, message } = current as { code?: string; message?: string };
  return code && message && !message.includes(code)
    ? `${code}: ${message}`
    : (message ?? String(current));
}

/** The error as one or two lines: the problem's title and detail, never a stack. */
function report(context: Context | undefined, io: Io, error: unknown): number {
  const json = context?.json ?? false;
  if (error instanceof MaasApiError) {
    const id = error.requestId ? ` (request id ${error.requestId})` : '';
    io.stderr.write(`error: ${error.title}: ${error.detail}${id}\n`);
    if (json) {
      const { status, type, title, detail, requestId } = error;
      io.stdout.write(
        `${JSON.stringify({ error: { status, type, title, detail, requestId } }, null, 2)}\n`,
      );
    }
    return 1;
  }
  const message =
    error instanceof MaasNetworkError
      ? `cannot reach the gateway: ${rootCause(error)} (${error.url})`
      : ((error as Error)?.message ?? String(error));
  io.stderr.write(`error: ${message}\n`);
  if (json)
    io.stdout.write(`${JSON.stringify({ error: { title: 'error', detail: message } }, null, 2)}\n`);
  if (io.env.MAAS_DEBUG && error instanceof Error && error.stack)
    io.stderr.write(`${error.stack}\n`);
  return error instanceof CliError ? error.exitCode : 1;
}

/** Runs one command line; answers the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let context: Context | undefined;
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      io.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const { command, words, rest } = findCommand(argv, COMMANDS, GLOBAL_OPTIONS);
    const wantsHelp = rest.includes('--help') || rest.includes('-h');
    if (!command) {
      if (wantsHelp) {
        io.stdout.write(groupHelp(words, COMMANDS, GLOBAL_OPTIONS, INTRO));
        return 0;
      }
      const unknown = rest.find((w) => !w.startsWith('-'));
      if (unknown) io.stderr.write(`maas: unknown command '${[...words, unknown].join(' ')}'\n`);
      else if (words.length > 0) io.stderr.write(`maas: '${words.join(' ')}' needs a command\n`);
      // `maas models` lists what models can do; a bare `maas` its whole help.
      io.stderr.write(
        unknown && words.length === 0
          ? "Run 'maas --help' for the commands.\n"
          : groupHelp(words, COMMANDS, GLOBAL_OPTIONS, INTRO),
      );
      return 2;
    }
    if (wantsHelp) {
      io.stdout.write(commandHelp(command, GLOBAL_OPTIONS));
      return 0;
    }
    const parsed = parseCommandArgs(command, rest, GLOBAL_OPTIONS);
    context = new Context(io, parsed.options);
    return (await command.run(context, parsed)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`maas: ${error.message}\n`);
      if (error.command) {
        io.stderr.write(`Run 'maas ${error.command.path.join(' ')} --help' for its usage.\n`);
      }
      return 2;
    }
    return report(context, io, error);
  }
}
