import type { CallOptions } from '../http/typed-paths.js';
import type { Transport } from '../http/transport.js';
import { postUpload, type UploadProgress, type UploadSource } from '../http/upload.js';
import type { Dataset, Page, PageQuery } from '../types.js';
import { everyPage } from './models.js';

export interface DatasetUploadOptions extends CallOptions {
  onProgress?: (progress: UploadProgress) => void;
}

/** CSV datasets for training. */
export class Datasets {
  constructor(private readonly transport: Transport) {}

  /**
   * Uploads a CSV (header row first) from a path (Node), text, bytes, a Blob or a stream;
   * answers the profiled dataset (rows, columns and their inferred types).
   */
  upload(name: string, source: UploadSource, options: DatasetUploadOptions = {}): Promise<Dataset> {
    return postUpload(
      this.transport,
      `/api/datasets?name=${encodeURIComponent(name)}`,
      'text/csv',
      source,
      options,
    );
  }

  list(query: PageQuery = {}, options: CallOptions = {}): Promise<Page<Dataset>> {
    return this.transport.call('get', '/api/datasets', { query, ...options });
  }

  all(options: CallOptions = {}): AsyncGenerator<Dataset> {
    return everyPage((cursor) => this.list({ cursor, limit: 200 }, options));
  }

  get(id: string, options: CallOptions = {}): Promise<Dataset> {
    return this.transport.call('get', '/api/datasets/{id}', { path: { id }, ...options });
  }

  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.transport.call('delete', '/api/datasets/{id}', { path: { id }, ...options });
  }
}
