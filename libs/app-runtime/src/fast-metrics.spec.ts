import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from './fast-metrics.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Two registries as the apps make them (default label `app`). */
function registries(): [Registry, Registry] {
  return [new Registry(), new Registry()].map((registry) => {
    registry.setDefaultLabels({ app: 'gateway' });
    return registry;
  }) as [Registry, Registry];
}

describe('LabelledCounter and LabelledHistogram', () => {
  it("read on /metrics exactly as prom-client's Counter and Histogram given the same updates", async () => {
    const [theirs, ours] = registries();
    const config = (registry: Registry) => ({
      counter: {
        name: 'maas_http_requests_total',
        help: 'HTTP requests by route template, method and status',
        labelNames: ['method', 'route', 'status'] as const,
        registers: [registry],
      },
      histogram: {
        name: 'maas_http_request_duration_seconds',
        help: 'HTTP request duration by route template',
        labelNames: ['method', 'route'] as const,
        buckets: BUCKETS,
        registers: [registry],
      },
      unlabelled: {
        name: 'maas_inference_queue_seconds',
        help: 'Time in the queue',
        buckets: BUCKETS,
        registers: [registry],
      },
    });
    const theirCounter = new Counter({
      ...config(theirs).counter,
      labelNames: ['method', 'route', 'status'],
    });
    const theirHistogram = new Histogram({
      ...config(theirs).histogram,
      labelNames: ['method', 'route'],
    });
    const theirUnlabelled = new Histogram(config(theirs).unlabelled);
    const ourCounter = new LabelledCounter(config(ours).counter);
    const ourHistogram = new LabelledHistogram(config(ours).histogram);
    const ourUnlabelled = new LabelledHistogram(config(ours).unlabelled);

    const routes = ['/v2/models/:model/infer', '/api/models', '/healthz'];
    // Values on bounds (le is inclusive), between them, past the last, and zero.
    const values = [0, 0.001, 0.0011, 0.0025, 0.3, 1, 2.5, 9.99, 10, 10.01, 120, 0.04];
    values.forEach((seconds, i) => {
      const route = routes[i % routes.length]!;
      const method = i % 2 ? 'GET' : 'POST';
      const status = String([200, 404, 429][i % 3]);
      // (in labelNames order, as every caller passes them: prom-client prints a series' labels
      // in the order of the first object it was given, ours always in labelNames order)
      theirCounter.inc({ method, route, status });
      ourCounter.inc(i % 2 ? { status, route, method } : { method, route, status });
      theirHistogram.observe({ method, route }, seconds);
      ourHistogram.observe(i % 2 ? { route, method } : { method, route }, seconds);
      theirUnlabelled.observe(seconds);
      ourUnlabelled.observe(seconds);
    });
    theirCounter.inc({ method: 'POST', route: routes[0]!, status: '200' }, 5);
    ourCounter.inc({ method: 'POST', route: routes[0]!, status: '200' }, 5);

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    expect(await ours.metrics()).toContain(
      'maas_http_request_duration_seconds_bucket{le="0.001",app="gateway",method="POST",route="/v2/models/:model/infer"} 1',
    );
  });

  it('refuses a value that is not a number, as prom-client does', () => {
    const [registry] = registries();
    const histogram = new LabelledHistogram({
      name: 'h',
      help: 'h',
      buckets: BUCKETS,
      registers: [registry],
    });
    expect(() => histogram.observe(Number.NaN)).toThrow(TypeError);
    expect(() => histogram.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('is registered once per registry and cleared by resetMetrics', async () => {
    const [registry] = registries();
    const counter = new LabelledCounter({ name: 'c_total', help: 'c', registers: [registry] });
    counter.inc();
    counter.inc(undefined, 2);
    expect(await registry.metrics()).toContain('c_total{app="gateway"} 3');
    expect(
      () => new LabelledCounter({ name: 'c_total', help: 'c', registers: [registry] }),
    ).toThrow(/already been registered/);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('c_total{');
  });
});
