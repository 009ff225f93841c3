import { readFile } from 'node:fs/promises';
import {
  type Datatype,
  DATATYPES,
  type InferResult,
  type MaasClient,
  plainValues,
  type TensorInput,
  type TensorOutput,
  type TfServingPredictRequest,
  type V2ModelMetadata,
} from '@maas/sdk';
import { type CommandSpec, UsageError } from '../args.js';
import { CliError, type Context } from '../context.js';
import { readNumericCsv } from '../csv.js';
import { cell, table } from '../format.js';
import { readNpy } from '../npy.js';

/** Columns of a 2-D output shown before the rest is elided. */
const MAX_COLUMNS = 8;

async function readText(value: string): Promise<string> {
  if (!value.startsWith('@')) return value;
  return readFile(value.slice(1), 'utf8').catch(() => {
    throw new CliError(`cannot read ${value.slice(1)}`);
  });
}

/** A v2 request's JSON inputs as SDK tensors (nested data flattened, INT64 as bigints). */
function inputsFromV2Json(body: { inputs?: unknown }): TensorInput[] {
  if (!Array.isArray(body.inputs)) throw new CliError("the JSON body has no 'inputs' list");
  return body.inputs.map((raw: unknown, i) => {
    const input = raw as { name?: string; datatype?: string; shape?: number[]; data?: unknown };
    if (typeof input.name !== 'string' || !Array.isArray(input.data)) {
      throw new CliError(`input ${i} needs a name and a data list`);
    }
    const datatype = input.datatype as Datatype | undefined;
    if (datatype !== undefined && !(DATATYPES as readonly string[]).includes(datatype)) {
      throw new CliError(`input '${input.name}': unknown datatype '${datatype}'`);
    }
    const data = (input.data as unknown[]).flat(Infinity) as number[] | string[] | boolean[];
    return {
      name: input.name,
      data,
      ...(datatype && { datatype }),
      ...(input.shape && { shape: input.shape }),
    };
  });
}

/** The model's only input, for data that comes without names (CSV rows, an .npy array). */
function soleInput(metadata: V2ModelMetadata, source: string) {
  if (metadata.inputs.length !== 1) {
    throw new CliError(
      `${metadata.name} takes ${metadata.inputs.length} inputs (${metadata.inputs.map((i) => i.name).join(', ')}); ${source} fills a model with one input: use --json`,
    );
  }
  return metadata.inputs[0]!;
}

/** Output columns for one table, when every output has the same row count. */
function outputTable(outputs: readonly TensorOutput[]): string | undefined {
  const rows = outputs[0]?.shape[0];
  if (rows === undefined || outputs.some((o) => o.shape.length > 2 || o.shape[0] !== rows)) {
    return undefined;
  }
  const columns: { header: string; value: (row: number) => unknown; right?: boolean }[] = [
    { header: 'row', value: (r) => r, right: true },
  ];
  for (const output of outputs) {
    const values = plainValues(output);
    const width = output.shape.length === 2 ? output.shape[1]! : 1;
    const numeric = output.datatype !== 'BYTES' && output.datatype !== 'BOOL';
    if (output.shape.length === 1) {
      columns.push({ header: output.name, value: (r) => values[r], right: numeric });
      continue;
    }
    for (let c = 0; c < Math.min(width, MAX_COLUMNS); c++) {
      columns.push({
        header: `${output.name}[${c}]`,
        value: (r) => values[r * width + c],
        right: numeric,
      });
    }
    if (width > MAX_COLUMNS) columns.push({ header: '…', value: () => '…' });
  }
  return table(
    Array.from({ length: rows }, (_, r) => r),
    columns,
  );
}

function printResult(ctx: Context, result: InferResult): void {
  if (ctx.json) {
    return ctx.printJson({
      model_name: result.modelName,
      model_version: result.modelVersion,
      outputs: result.outputs.map((o) => ({
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        data: plainValues(o),
      })),
    });
  }
  ctx.out(`${result.modelName} v${result.modelVersion ?? '?'}\n`);
  const combined = outputTable(result.outputs);
  if (combined) return ctx.out(combined);
  for (const output of result.outputs) {
    ctx.out(
      `${output.name} ${output.datatype} [${output.shape.join(', ')}]: ${plainValues(output).map(cell).join(' ')}\n`,
    );
  }
}

async function tensorsFromFile(
  client: MaasClient,
  model: string,
  version: string | undefined,
  options: { csv?: string; input?: string },
): Promise<TensorInput[]> {
  const metadata = await client.inference.metadata(model, version);
  if (options.csv !== undefined) {
    const input = soleInput(metadata, '--csv');
    const text = await readFile(options.csv, 'utf8').catch(() => {
      throw new CliError(`cannot read ${options.csv}`);
    });
    let csv;
    try {
      csv = readNumericCsv(text);
    } catch (error) {
      throw new CliError(`${options.csv}: ${(error as Error).message}`);
    }
    const width = csv.rows[0]!.length;
    return [
      {
        name: input.name,
        datatype: input.datatype,
        shape: [csv.rows.length, width],
        data: csv.rows.flat(),
      },
    ];
  }
  const input = soleInput(metadata, '--input');
  const bytes = await readFile(options.input!).catch(() => {
    throw new CliError(`cannot read ${options.input}`);
  });
  let array;
  try {
    array = readNpy(bytes);
  } catch (error) {
    throw new CliError(`${options.input}: ${(error as Error).message}`);
  }
  // A float64 array for a float32 model (NumPy's default) is converted, not refused.
  const convert = array.datatype !== input.datatype && array.datatype !== 'FP16';
  return [
    {
      name: input.name,
      datatype: convert ? input.datatype : array.datatype,
      shape: array.shape,
      data: array.data,
    },
  ];
}

export const predictCommands: CommandSpec<Context>[] = [
  {
    path: ['predict'],
    args: [{ name: 'NAME' }],
    options: [
      {
        name: 'version',
        value: 'V',
        description: 'a version (default: label production, else the newest)',
      },
      {
        name: 'json',
        value: 'BODY',
        optionalValue: /^[{@]/,
        description:
          "a v2 request ('{\"inputs\": [...]}', or TF Serving's '{\"instances\": [...]}'), or @FILE; alone: print JSON",
      },
      {
        name: 'csv',
        value: 'FILE',
        description: "rows of numbers for the model's one input (a header row is skipped)",
      },
      { name: 'input', value: 'FILE.npy', description: "a NumPy array for the model's one input" },
      { name: 'binary', description: 'send the tensors in the binary tensor data extension' },
    ],
    summary: 'Run a model on inputs and print its outputs as a table (or JSON)',
    description:
      'Exactly one of --json BODY, --csv FILE, --input FILE.npy. A bare --json (no body)\n' +
      'prints the answer as JSON, so --json BODY --json sends a body and prints JSON. CSV\n' +
      "rows and .npy arrays go to the model's only input (converted to its datatype).",
    examples: [
      'maas predict iris --csv flowers.csv',
      'maas predict linear --json \'{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[3,4]}]}\'',
      'maas predict digits --input batch.npy --json',
    ],
    async run(ctx, { args, options }) {
      const body = typeof options.json === 'string' ? options.json : undefined;
      const csv = options.csv as string | undefined;
      const npy = options.input as string | undefined;
      const given = [body, csv, npy].filter((v) => v !== undefined).length;
      if (given !== 1) {
        throw new UsageError('give exactly one of --json BODY, --csv FILE or --input FILE.npy');
      }
      const model = args.NAME as string;
      const version = options.version as string | undefined;
      const client = await ctx.tenantClient();
      if (body !== undefined) {
        let parsed: { inputs?: unknown; instances?: unknown; outputs?: unknown };
        try {
          parsed = JSON.parse(await readText(body)) as typeof parsed;
        } catch (error) {
          if (error instanceof CliError) throw error;
          throw new UsageError(`--json: not valid JSON (${(error as Error).message})`);
        }
        if (parsed.instances !== undefined) {
          // TF Serving's row format goes to :predict as it is.
          const answer = await client.inference.predict(model, parsed as TfServingPredictRequest, {
            version,
          });
          if (ctx.json) return ctx.printJson(answer);
          return ctx.out(
            `${(answer.predictions ?? []).map((p, i) => `${i}  ${JSON.stringify(p)}`).join('\n')}\n`,
          );
        }
        const outputs = Array.isArray(parsed.outputs)
          ? (parsed.outputs as { name: string }[]).map((o) => o.name)
          : undefined;
        const result = await client.inference.infer(model, inputsFromV2Json(parsed), {
          version,
          outputs,
          binary: options.binary === true,
        });
        return printResult(ctx, result);
      }
      const tensors = await tensorsFromFile(client, model, version, { csv, input: npy });
      const result = await client.inference.infer(model, tensors, {
        version,
        binary: options.binary === true,
      });
      printResult(ctx, result);
    },
  },
];
