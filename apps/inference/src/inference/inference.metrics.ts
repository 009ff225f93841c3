import { Inject, Injectable } from '@nestjs/common';
import { LabelledCounter, LabelledHistogram, METRICS_REGISTRY } from '@maas/app-runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** The worker's inference series: batching, latency split, cache, load shedding. */
@Injectable()
export class InferenceMetrics {
  readonly batchSize: Histogram;
  readonly batchRequests: Histogram;
  readonly queueSeconds: LabelledHistogram;
  readonly batchWaitSeconds: LabelledHistogram;
  readonly computeSeconds: Histogram;
  readonly inFlight: Gauge;
  readonly shed: Counter<'reason'>;
  readonly answersTooLarge: Counter;
  readonly cacheBytes: Gauge;
  readonly cacheModels: Gauge;
  readonly cacheLoads: Counter<'result'>;
  readonly coldStartRequests: Counter;
  readonly integrityFailures: Counter;
  readonly cacheEvictions: Counter<'reason'>;
  readonly loadReservedBytes: Gauge;
  readonly loadsWaiting: Gauge;
  readonly loadsInProgress: Gauge;
  readonly loadsPaused: Gauge;
  readonly loadPauses: Counter;
  readonly loadRefusals: Counter<'reason'>;
  readonly negativeCacheHits: Counter;
  readonly artifactReads: Counter<'result'>;
  readonly linkRequests: LabelledCounter<'call' | 'status'>;
  readonly linkSeconds: LabelledHistogram<'call'>;
  readonly linkConnections: Gauge;
  readonly authFailures: Counter<'transport' | 'reason'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.batchSize = new Histogram({
      name: 'maas_inference_batch_size',
      help: 'Rows per runtime call (dynamic batching stacks concurrent requests)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'maas_inference_batch_requests',
      help: 'Requests per runtime call',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.queueSeconds = new LabelledHistogram({
      name: 'maas_inference_queue_seconds',
      help: 'Time a request waited before its runtime call started (queue and batch wait)',
      buckets: SECONDS,
      registers,
    });
    this.batchWaitSeconds = new LabelledHistogram({
      name: 'maas_inference_batch_wait_seconds',
      help: 'Part of the wait spent holding a partial batch open for company',
      buckets: SECONDS,
      registers,
    });
    this.computeSeconds = new Histogram({
      name: 'maas_inference_compute_seconds',
      help: 'Runtime call duration',
      buckets: SECONDS,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'maas_inference_in_flight',
      help: 'Requests queued or running',
      registers,
    });
    this.shed = new Counter({
      name: 'maas_inference_shed_total',
      help: 'Requests refused: queue full (429) or past their deadline (504)',
      labelNames: ['reason'],
      registers,
    });
    this.answersTooLarge = new Counter({
      name: 'maas_inference_answers_too_large_total',
      help: "Requests failed (422) because the model's answer was larger than MAX_RESPONSE_BYTES (or the version's maxResponseBytes)",
      registers,
    });
    this.cacheBytes = new Gauge({
      name: 'maas_model_cache_bytes',
      help: 'Bytes of loaded model versions',
      registers,
    });
    this.cacheModels = new Gauge({
      name: 'maas_model_cache_versions',
      help: 'Loaded model versions',
      registers,
    });
    this.cacheLoads = new Counter({
      name: 'maas_model_cache_loads_total',
      help: 'Model version loads by result',
      labelNames: ['result'],
      registers,
    });
    this.coldStartRequests = new Counter({
      name: 'maas_model_cold_start_requests_total',
      help: 'Requests that waited for their model version to load (a cold start); preloads of replicas (link call "load") are not counted',
      registers,
    });
    this.cacheEvictions = new Counter({
      name: 'maas_model_cache_evictions_total',
      help: 'Model versions released to make room: within MODEL_CACHE_BYTES (budget) or within their tenant share (tenant_share)',
      labelNames: ['reason'],
      registers,
    });
    this.loadReservedBytes = new Gauge({
      name: 'maas_model_load_reserved_bytes',
      help: 'Memory reserved by model loads in progress (artifact size × MODEL_MEMORY_FACTOR)',
      registers,
    });
    this.loadsWaiting = new Gauge({
      name: 'maas_model_loads_waiting',
      help: 'Model loads waiting for memory or a load slot',
      registers,
    });
    this.loadsInProgress = new Gauge({
      name: 'maas_model_loads_in_progress',
      help: 'Model loads holding a slot and a memory reservation',
      registers,
    });
    this.loadsPaused = new Gauge({
      name: 'maas_model_loads_paused',
      help: 'Model loads waiting out their tenant’s pause after its last load (LOAD_TIME_SHARE_PER_TENANT), while other tenants are being served',
      registers,
    });
    this.loadPauses = new Counter({
      name: 'maas_model_load_pauses_total',
      help: 'Model loads held back by their tenant’s pause after its last load (LOAD_TIME_SHARE_PER_TENANT)',
      registers,
    });
    this.loadRefusals = new Counter({
      name: 'maas_model_load_refusals_total',
      help: 'Loads refused: waited past MODEL_LOAD_WAIT_MS (wait_timeout, 503) or larger than a tenant share (too_large, 413)',
      labelNames: ['reason'],
      registers,
    });
    this.negativeCacheHits = new Counter({
      name: 'maas_model_cache_negative_hits_total',
      help: 'Requests answered the remembered error of a version that failed to load, without loading it again',
      registers,
    });
    this.artifactReads = new Counter({
      name: 'maas_model_artifact_reads_total',
      help: 'Model artifacts read from storage, by result (ok, integrity, unavailable)',
      labelNames: ['result'],
      registers,
    });
    this.integrityFailures = new Counter({
      name: 'maas_model_integrity_failures_total',
      help: 'Artifacts whose bytes did not match their recorded sha256 (alert on any increase)',
      registers,
    });
    this.linkRequests = new LabelledCounter({
      name: 'maas_inference_link_requests_total',
      help: 'Requests served over the worker link (the gateway transport), by call and status',
      labelNames: ['call', 'status'],
      registers,
    });
    this.linkSeconds = new LabelledHistogram({
      name: 'maas_inference_link_request_duration_seconds',
      help: 'Time from a link request frame read to its answer written',
      labelNames: ['call'],
      buckets: SECONDS,
      registers,
    });
    this.linkConnections = new Gauge({
      name: 'maas_inference_link_connections',
      help: 'Open worker link connections (one or a few per gateway)',
      registers,
    });
    this.authFailures = new Counter({
      name: 'maas_inference_auth_failures_total',
      help: 'Connections (link) and requests (http) refused for not proving WORKER_SECRET',
      labelNames: ['transport', 'reason'],
      registers,
    });
  }
}
