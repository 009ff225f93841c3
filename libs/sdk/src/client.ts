import { Transport, type TransportOptions } from './http/transport.js';
import { Admin } from './resources/admin.js';
import { Auth } from './resources/auth.js';
import { Datasets } from './resources/datasets.js';
import { Inference } from './resources/inference.js';
import { Models } from './resources/models.js';
import { Training } from './resources/training.js';
import { UsageApi } from './resources/usage.js';

export type MaasClientOptions = TransportOptions;

/**
 * A client of one maas gateway. Tenant routes use `apiKey` (or a member's `accessToken`);
 * `/api/admin` uses the admin's token, which `auth.login` sets.
 *
 * ```ts
 * const maas = new MaasClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.MAAS_API_KEY });
 * await maas.models.versions.upload('linear', { path: 'model.onnx' });
 * const result = await maas.inference.infer('linear', { input: new Float32Array([3, 4]) });
 * ```
 */
export class MaasClient {
  readonly transport: Transport;
  readonly models: Models;
  readonly inference: Inference;
  readonly datasets: Datasets;
  readonly training: Training;
  readonly usage: UsageApi;
  readonly auth: Auth;
  readonly admin: Admin;

  constructor(options: MaasClientOptions) {
    this.transport = new Transport(options);
    this.models = new Models(this.transport);
    this.inference = new Inference(this.transport);
    this.datasets = new Datasets(this.transport);
    this.training = new Training(this.transport);
    this.usage = new UsageApi(this.transport);
    this.auth = new Auth(this.transport);
    this.admin = new Admin(this.transport);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** Replaces the API key (undefined: tenant routes fall back to the bearer token). */
  setApiKey(apiKey: string | undefined): void {
    this.transport.apiKey = apiKey;
  }

  setAccessToken(accessToken: string | undefined): void {
    this.transport.accessToken = accessToken;
  }
}
