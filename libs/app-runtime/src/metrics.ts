import {
  Controller,
  Get,
  Header,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
} from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** One registry per process, with the default process metrics and HTTP request series. */
@Injectable()
export class HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.requests = new Counter({
      name: 'maas_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
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
    collectDefaultMetrics({ register: registry, prefix: 'maas_' });
    return {
      module: MetricsModule,
      global: true,
      controllers: options.controller === false ? [] : [MetricsController],
      providers: [{ provide: METRICS_REGISTRY, useValue: registry }, HttpMetrics],
      exports: [METRICS_REGISTRY, HttpMetrics],
    };
  }
}
