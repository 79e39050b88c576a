// Metrics for the RPC hot path. prom-client hashes the label set on every inc/observe (a few µs per
// call here); these keep one plain object per label set, bound once, so a call costs a few array
// increments, and hand prom-client's registry the same MetricObject its own metrics produce at scrape
// time (registry.registerMetric: get() -> { name, help, type, values, aggregator }). They need no
// prom-client to count: they join the registry when metrics are turned on (registry.ts, onMetrics), and
// count (unscraped) in a process that never turns them on.
import { onMetrics } from './registry.js';

type Labels = Record<string, string>;
interface Value {
  value: number;
  labels: Labels;
  metricName?: string;
}
interface MetricObject {
  name: string;
  help: string;
  type: string;
  values: Value[];
  aggregator: string;
}

abstract class Hot<S> {
  protected readonly children = new Map<string, { labels: Labels; s: S }>();
  /** `register` false: a private metric that counts but never joins the registry (the start-up warm-up's) */
  constructor(
    readonly name: string,
    readonly help: string,
    register = true,
  ) {
    if (register) onMetrics((_prom, registry) => registry.registerMetric(this as never));
  }
  /** The series of a label set; keep it: looking it up is the slow part. */
  series(labels: Labels): S {
    const key = JSON.stringify(labels);
    let c = this.children.get(key);
    if (c === undefined) this.children.set(key, (c = { labels, s: this.make() }));
    return c.s;
  }
  protected abstract make(): S;
  abstract get(): MetricObject;
  reset(): void {
    this.children.clear();
  }
}

export interface CounterSeries {
  n: number;
}

/** A counter (or a gauge: `type` 'gauge', and n may go down). */
export class HotCounter extends Hot<CounterSeries> {
  constructor(
    name: string,
    help: string,
    private readonly type: 'counter' | 'gauge' = 'counter',
    register = true,
  ) {
    super(name, help, register);
  }
  protected make(): CounterSeries {
    return { n: 0 };
  }
  get(): MetricObject {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: 'sum',
      values: [...this.children.values()].map((c) => ({ value: c.s.n, labels: c.labels })),
    };
  }
}

export interface HistogramSeries {
  observe(v: number): void;
}

export class HotHistogram extends Hot<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    private readonly buckets: number[],
    register = true,
  ) {
    super(name, help, register);
  }
  protected make(): HistogramSeries & { counts: number[]; sum: number; count: number } {
    const b = this.buckets;
    const s = {
      counts: new Array<number>(b.length).fill(0),
      sum: 0,
      count: 0,
      observe(v: number) {
        s.sum += v;
        s.count++;
        for (let i = 0; i < b.length; i++)
          if (v <= b[i]) {
            s.counts[i]++;
            break;
          }
      },
    };
    return s;
  }
  get(): MetricObject {
    const values: Value[] = [];
    for (const { labels, s } of this.children.values()) {
      const h = s as ReturnType<HotHistogram['make']>;
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += h.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(le) }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: h.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: h.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
