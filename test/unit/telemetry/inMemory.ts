/**
 * The OpenTelemetry SDK with in-memory exporters, registered globally the way the Azure Monitor
 * distro registers its own (a tracer provider, a meter provider, the AsyncLocalStorage context
 * manager), so product code's @opentelemetry/api calls record into memory. Each test file runs in
 * its own process, so this registration stays within the file.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

export interface Telemetry {
  /** Every span ended so far. */
  spans(name?: string): ReadableSpan[];
  /** The data points of one metric, as collected now (cumulative since install or reset). */
  points(metric: string): Promise<DataPoint<number | Histogram>[]>;
  reset(): Promise<void>;
  uninstall(): Promise<void>;
}

export function installTelemetry(): Telemetry {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);

  let metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  let reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  let meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);

  return {
    spans: (name) => spanExporter.getFinishedSpans().filter((s) => name === undefined || s.name === name),
    async points(metric) {
      await reader.forceFlush();
      const found = metricExporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === metric);
      return (found?.dataPoints ?? []) as DataPoint<number | Histogram>[];
    },
    async reset() {
      spanExporter.reset();
      await meterProvider.shutdown();
      metrics.disable();
      metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      reader = new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: 3_600_000,
      });
      meterProvider = new MeterProvider({ readers: [reader] });
      metrics.setGlobalMeterProvider(meterProvider);
    },
    async uninstall() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}

/** The value of a counter's point, or a histogram's count, whose attributes include `match`. */
export function valueWhere(
  points: readonly DataPoint<number | Histogram>[],
  match: Record<string, string>,
): number {
  let total = 0;
  for (const p of points) {
    if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
    total += typeof p.value === 'number' ? p.value : p.value.count;
  }
  return total;
}
