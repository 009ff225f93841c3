import {
  Controller,
  Get,
  Header,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
} from '@nestjs/common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { dependencyErrorCounts } from './errors.js';
import { LabelledCounter, LabelledHistogram } from './fast-metrics.js';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * How often the event-loop delay is sampled. prom-client's default (10 ms) woke every app 100
 * times a second with no traffic; a stall still shows in full at 100 ms (a delayed sample
 * records the whole delay), only stalls shorter than 100 ms between samples go unseen.
 */
export const EVENT_LOOP_RESOLUTION_MS = 100;

/** Requests answered 503 because PostgreSQL or Redis was unreachable, by dependency. */
function registerDependencyErrors(registry: Registry): void {
  new Counter({
    name: 'maas_dependency_errors_total',
    help: 'Requests that failed (503) because a dependency (database, redis) was unreachable',
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [dependency, count] of Object.entries(dependencyErrorCounts)) {
        this.inc({ dependency }, count);
      }
    },
  });
}

const LAG_STATISTICS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/**
 * prom-client's `nodejs_eventloop_lag_*` series under the same names, but sampled every
 * EVENT_LOOP_RESOLUTION_MS and reported as delay beyond the sampling interval (prom-client's
 * include the interval itself, so an idle loop read 10 ms; with 100 ms that would read as a
 * 100 ms stall). Like prom-client's, each scrape reads and resets the histogram.
 */
function registerEventLoopLag(registry: Registry, prefix: string): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  const interval = EVENT_LOOP_RESOLUTION_MS * 1e6;
  const beyond = (nanoseconds: number) => Math.max(0, nanoseconds - interval) / 1e9;
  const gauges = Object.fromEntries(
    LAG_STATISTICS.map((statistic) => {
      const name = `${prefix}nodejs_eventloop_lag_${statistic}_seconds`;
      registry.removeSingleMetric(name);
      const help = `Event loop delay beyond the ${EVENT_LOOP_RESOLUTION_MS} ms sampling interval (${statistic}) since the last scrape.`;
      return [statistic, new Gauge({ name, help, registers: [registry] })];
    }),
  ) as Record<(typeof LAG_STATISTICS)[number], Gauge>;
  const lagName = `${prefix}nodejs_eventloop_lag_seconds`;
  registry.removeSingleMetric(lagName);
  new Gauge({
    name: lagName,
    help: 'Lag of event loop in seconds (a setImmediate at scrape time).',
    registers: [registry],
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      if (histogram.count > 0) {
        gauges.min.set(beyond(histogram.min));
        gauges.max.set(beyond(histogram.max));
        gauges.mean.set(beyond(histogram.mean));
        gauges.stddev.set(histogram.stddev / 1e9);
        gauges.p50.set(beyond(histogram.percentile(50)));
        gauges.p90.set(beyond(histogram.percentile(90)));
        gauges.p99.set(beyond(histogram.percentile(99)));
      }
      histogram.reset();
    },
  });
}

/** One registry per process, with the default process metrics and HTTP request series. */
@Injectable()
export class HttpMetrics {
  // Every request updates both: LabelledCounter/LabelledHistogram, not prom-client's own.
  readonly requests: LabelledCounter<'method' | 'route' | 'status'>;
  readonly duration: LabelledHistogram<'method' | 'route'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.requests = new LabelledCounter({
      name: 'maas_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.duration = new LabelledHistogram({
      name: 'maas_http_request_duration_seconds',
      help: 'HTTP request duration by route template',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
  }
}

@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

@Module({})
export class MetricsModule {
  /** `controller: false` leaves /metrics off the app's HTTP port (served on an ops port). */
  static forRoot(appName: string, options: { controller?: boolean } = {}): DynamicModule {
    const registry = new Registry();
    registry.setDefaultLabels({ app: appName });
    // prom-client's own event-loop histogram is replaced by registerEventLoopLag's: its timer
    // is given an interval that never comes round (it has no switch to leave it out).
    collectDefaultMetrics({
      register: registry,
      prefix: 'maas_',
      eventLoopMonitoringPrecision: 2 ** 31 - 1,
    });
    registerEventLoopLag(registry, 'maas_');
    registerDependencyErrors(registry);
    return {
      module: MetricsModule,
      global: true,
      controllers: options.controller === false ? [] : [MetricsController],
      providers: [{ provide: METRICS_REGISTRY, useValue: registry }, HttpMetrics],
      exports: [METRICS_REGISTRY, HttpMetrics],
    };
  }
}
