import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import { postUpload, type UploadProgress, type UploadSource } from '../http/upload.js';
import type {
  DecisionTree,
  Label,
  Model,
  ModelCreate,
  ModelUpdate,
  ModelVersion,
  Page,
  PageQuery,
  TrainingJob,
  VersionOptimize,
  VersionUpdate,
} from '../types.js';

export interface UploadOptions extends CallOptions {
  /** `onnx` (default) or `tfjs` (a .zip or .tar.gz of model.json and its shards). */
  format?: 'onnx' | 'tfjs';
  /** Called as bytes go out (see `UploadProgress`). */
  onProgress?: (progress: UploadProgress) => void;
}

/** Walks every page of a cursor-paged list. */
export async function* everyPage<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const answer = await page(cursor);
    yield* answer.items;
    cursor = answer.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** A model's versions: upload, list, inspect, configure, archive. */
export class ModelVersions {
  constructor(private readonly transport: Transport) {}

  list(
    model: string,
    query: { cursor?: number; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<Page<ModelVersion>> {
    return this.transport.call('get', '/api/models/{name}/versions', {
      path: { name: model },
      query,
      ...options,
    });
  }

  get(model: string, version: number | string, options: CallOptions = {}): Promise<ModelVersion> {
    return this.transport.call('get', '/api/models/{name}/versions/{version}', {
      path: { name: model, version: String(version) },
      ...options,
    });
  }

  /**
   * Uploads a new version from a file path (Node), bytes, a Blob or a stream; answers the
   * version as registered (validated before the answer: `ready`, or the error). Retried on
   * 429/503 unless the source is a one-shot stream.
   */
  upload(model: string, source: UploadSource, options: UploadOptions = {}): Promise<ModelVersion> {
    const format = options.format ?? 'onnx';
    return postUpload(
      this.transport,
      `/api/models/${encodeURIComponent(model)}/versions?format=${format}`,
      'application/octet-stream',
      source,
      options,
    );
  }

  update(
    model: string,
    version: number | string,
    body: VersionUpdate,
    options: CallOptions = {},
  ): Promise<ModelVersion> {
    return this.transport.call('patch', '/api/models/{name}/versions/{version}', {
      path: { name: model, version: String(version) },
      body,
      ...options,
    });
  }

  /** Archives the version and removes its bytes (409 while a label points at it). */
  archive(model: string, version: number | string, options: CallOptions = {}) {
    return this.transport.call('delete', '/api/models/{name}/versions/{version}', {
      path: { name: model, version: String(version) },
      ...options,
    }) as Promise<ModelVersion>;
  }

  /** A trained decision tree as JSON and rules (409 for other versions). */
  tree(model: string, version: number | string, options: CallOptions = {}): Promise<DecisionTree> {
    return this.transport.call('get', '/api/models/{name}/versions/{version}/tree', {
      path: { name: model, version: String(version) },
      ...options,
    });
  }

  /**
   * Queues an optimisation of a ready ONNX version (int8, fp16, pruning): a job like a training
   * job (follow it with `client.training.events`); its new version's `metrics.optimization` is
   * the report.
   */
  optimize(
    model: string,
    version: number | string,
    body: VersionOptimize,
    options: CallOptions = {},
  ): Promise<TrainingJob> {
    return this.transport.call('post', '/api/models/{name}/versions/{version}/optimize', {
      path: { name: model, version: String(version) },
      body,
      ...options,
    });
  }
}

/** The tenant's model registry. */
export class Models {
  readonly versions: ModelVersions;

  constructor(private readonly transport: Transport) {
    this.versions = new ModelVersions(transport);
  }

  list(query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Model>> {
    return this.transport.call('get', '/api/models', { query, ...options });
  }

  /** Every model, page after page. */
  all(options: CallOptions = {}): AsyncGenerator<Model> {
    return everyPage((cursor) => this.list({ cursor, limit: 200 }, options));
  }

  create(body: ModelCreate, options: CallOptions = {}): Promise<Model> {
    return this.transport.call('post', '/api/models', { body, ...options });
  }

  get(name: string, options: CallOptions = {}): Promise<Model> {
    return this.transport.call('get', '/api/models/{name}', { path: { name }, ...options });
  }

  update(name: string, body: ModelUpdate, options: CallOptions = {}): Promise<Model> {
    return this.transport.call('patch', '/api/models/{name}', { path: { name }, body, ...options });
  }

  async delete(name: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call('delete', '/api/models/{name}', { path: { name }, ...options });
  }

  /**
   * Points a label at one version (`3`) or splits its traffic (`{"3": 90, "4": 10}`, in
   * percent). Label `production` serves requests that name no version.
   */
  setLabel(
    model: string,
    label: string,
    target: number | Record<string, number>,
    options: CallOptions = {},
  ): Promise<Label> {
    return this.transport.call('put', '/api/models/{name}/labels/{label}', {
      path: { name: model, label },
      body: typeof target === 'number' ? { version: target } : { versions: target },
      ...options,
    });
  }

  async deleteLabel(model: string, label: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call('delete', '/api/models/{name}/labels/{label}', {
      path: { name: model, label },
      ...options,
    });
  }
}
