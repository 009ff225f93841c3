import type { Logger } from '@maas/app-runtime';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InferenceWorkerClient } from './inference-worker.client.js';
import { ReplicaWarmer, type VersionToWarm } from './replica-warmer.js';
import type { WorkerLinkClient } from './worker-link.client.js';

const silent = { debug: () => undefined } as unknown as Logger;
const version: VersionToWarm = {
  tenantId: 't1',
  model: 'm/1',
  version: 3,
  versionId: 'v-3',
  requestId: 'r-1',
};

/** A warmer over fake transports; `status` is what every worker answers a load with. */
function warmer(transport: 'link' | 'http', status = 204) {
  const sent: string[] = [];
  const link = {
    load: async (address: string) => {
      sent.push(`link ${address}`);
      return { meta: { status, contentType: 'application/json' }, body: Buffer.from('no room') };
    },
  } as unknown as WorkerLinkClient;
  const http = {
    forward: async (request: { origin: string; path: string; headers: object }) => {
      sent.push(`http ${request.origin}${request.path} ${JSON.stringify(request.headers)}`);
      return { statusCode: status, body: { text: async () => 'no room' } };
    },
  } as unknown as InferenceWorkerClient;
  const metrics = new Registry();
  const warm = new ReplicaWarmer(link, http, { INFERENCE_TRANSPORT: transport }, silent, metrics);
  const counted = async () =>
    (await metrics.getSingleMetric('maas_gateway_replica_preloads_total')!.get()).values.map(
      (v) => `${String(v.labels.result)}=${v.value}`,
    );
  return { warm, sent, counted };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ReplicaWarmer', () => {
  it('asks each worker process once per retry interval, a restarted one (new id, same URL) again', async () => {
    const { warm, sent, counted } = warmer('link');
    const first = { url: 'http://w1:8080', link: 'w1:8081', id: 'w1-a' };
    warm.warm([first], version);
    warm.warm([first], version);
    warm.warm([first], { ...version, versionId: 'v-4' });
    // The same URL, a new process (its link on another port).
    warm.warm([{ url: 'http://w1:8080', link: 'w1:9000', id: 'w1-b' }], version);
    await settle();
    expect(sent).toEqual(['link w1:8081', 'link w1:8081', 'link w1:9000']);
    expect(await counted()).toEqual(['loaded=3']);
  });

  it('warms over signed HTTP with INFERENCE_TRANSPORT=http, and counts a refusal as one', async () => {
    const { warm, sent, counted } = warmer('http', 503);
    warm.warm([{ url: 'http://w2:8080', link: 'w2:8081', id: 'w2-a' }], version);
    await settle();
    expect(sent).toEqual([
      'http http://w2:8080/v2/models/m%2F1/versions/3/load {"x-request-id":"r-1","x-maas-tenant-id":"t1"}',
    ]);
    expect(await counted()).toEqual(['refused=1']);
  });
});
