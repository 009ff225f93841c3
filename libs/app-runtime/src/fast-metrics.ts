import type { Metric, Registry } from 'prom-client';

/**
 * A counter and a histogram for the series every request updates (the HTTP metrics of every
 * app, the worker's per-request link and queue times), shown on /metrics exactly as prom-client's
 * own would show them (same names, labels, bucket lines; the registry formats both). prom-client
 * merges the registry's default labels into, validates and hashes the label set on every call
 * (0.5-0.7 µs a call in a tight loop; 4 of them per request were ~7 % of the worker's event loop
 * under load, bench/serving/profile.mjs). Here a label set is looked up once per distinct
 * combination (one string key), and an update is an add (a bucket search and three adds).
 */

interface MetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers: Registry[];
}

/** One series' labels, in `labelNames` order (the order prom-client prints them in). */
type Labels<L extends string> = Partial<Record<L, string>>;

abstract class LabelledMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly L[];
  /** Series by their label values joined with NUL (no label value holds one). */
  protected readonly series = new Map<string, { labels: Labels<L>; state: S }>();

  constructor(config: MetricConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  protected abstract fresh(): S;

  /** The series of `labels` (created on first use); keep it to skip even the lookup. */
  protected stateOf(labels: Labels<L> = {}): S {
    let key = '';
    for (let i = 0; i < this.labelNames.length; i++) {
      if (i > 0) key += '\u0000';
      key += labels[this.labelNames[i]!] ?? '';
    }
    let found = this.series.get(key);
    if (found === undefined) {
      const ordered: Labels<L> = {};
      for (const name of this.labelNames) {
        if (labels[name] !== undefined) ordered[name] = labels[name];
      }
      found = { labels: ordered, state: this.fresh() };
      this.series.set(key, found);
    }
    return found.state;
  }

  reset(): void {
    this.series.clear();
  }
}

/** A counter (prom-client's `Counter` on /metrics). */
export class LabelledCounter<L extends string = never> extends LabelledMetric<
  L,
  { value: number }
> {
  readonly type = 'counter' as const;

  protected fresh(): { value: number } {
    return { value: 0 };
  }

  inc(labels?: Labels<L>, amount = 1): void {
    this.stateOf(labels).value += amount;
  }

  /** What prom-client's `Counter.get()` returns (the registry formats it). */
  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.series.values()].map(({ labels, state }) => ({
        labels,
        value: state.value,
      })),
    };
  }
}

interface HistogramState {
  /** Observations per bucket (not cumulative); the last one is past every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram (prom-client's `Histogram` on /metrics, same `buckets` semantics: `le`). */
export class LabelledHistogram<L extends string = never> extends LabelledMetric<L, HistogramState> {
  readonly type = 'histogram' as const;
  private readonly bounds: Float64Array;

  constructor(config: MetricConfig<L> & { buckets: readonly number[] }) {
    super(config);
    this.bounds = Float64Array.from(config.buckets);
  }

  protected fresh(): HistogramState {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  observe(labels: Labels<L>, value: number): void;
  observe(value: number): void;
  observe(labelsOrValue: Labels<L> | number, value?: number): void {
    const state = typeof labelsOrValue === 'number' ? this.stateOf() : this.stateOf(labelsOrValue);
    const observed = typeof labelsOrValue === 'number' ? labelsOrValue : value!;
    if (!Number.isFinite(observed)) throw new TypeError(`Value is not a valid number: ${observed}`);
    let bucket = 0;
    while (bucket < this.bounds.length && observed > this.bounds[bucket]!) bucket++;
    state.counts[bucket]! += 1;
    state.sum += observed;
    state.count += 1;
  }

  /** prom-client's `Histogram.getForPromString()`: buckets as `le` lines, then sum and count. */
  async getForPromString() {
    const values = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += state.counts[i]!;
        values.push({
          labels: { le: this.bounds[i]! as number | string },
          sharedLabels: labels,
          value: cumulative,
          metricName: bucketName,
          exemplar: null,
        });
      }
      values.push(
        {
          labels: { le: '+Inf' },
          sharedLabels: labels,
          value: state.count,
          metricName: bucketName,
          exemplar: null,
        },
        { labels: {}, sharedLabels: labels, value: state.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: labels, value: state.count, metricName: `${this.name}_count` },
      );
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** prom-client's `Histogram.get()`: each value's series labels merged into its own. */
  async get() {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, ...value }) => ({
        ...value,
        labels: { ...value.labels, ...sharedLabels },
      })),
    };
  }
}
