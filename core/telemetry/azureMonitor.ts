/**
 * Starts exporting Funclet's spans and metrics to Application Insights through the Azure Monitor
 * OpenTelemetry distro, only when APPLICATIONINSIGHTS_CONNECTION_STRING is set. The distro (and
 * the OpenTelemetry SDK under it) is imported only then, in a chunk of its own, so an app without
 * the setting never loads it, and one with it does not wait for it before its first invocation.
 *
 * What it is told to leave alone, and why:
 * - logs: Funclet's JSON lines already reach Application Insights through the invocation's logger
 *   (the Functions host writes them to `traces`); the distro's log export would bill them twice.
 * - automatic instrumentation (http, Azure SDK, databases, log libraries): patching modules works
 *   only for modules loaded after it, the bundle has loaded them already, and each outgoing call
 *   would become a row of `dependencies`, billed. Funclet's own spans name the provider calls.
 * - standard and live metrics, performance counters: the host reports requests and durations.
 *
 * The distro binds each invocation to the host's trace context (its Azure Functions hook), so
 * Funclet's spans share the invocation's operation_Id with the host's `requests` row.
 */
import { createLogger, type Logger } from '../log.ts';

export const connectionStringSetting = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

let started: Promise<boolean> | undefined;

/**
 * Starts the export once per process when the setting is there; resolves true once the SDK is
 * registered, false when telemetry stays off. Never rejects: a distro that fails to start leaves
 * Funclet working, without telemetry, and says why on the log.
 */
export function startTelemetry(
  env: Readonly<Record<string, string | undefined>> = process.env,
  logger: Logger = createLogger(),
): Promise<boolean> {
  const connectionString = env[connectionStringSetting]?.trim();
  if (!connectionString) return Promise.resolve(false);
  started ??= (async () => {
    try {
      const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
      useAzureMonitor({
        azureMonitorExporterOptions: { connectionString },
        enableLiveMetrics: false,
        enableStandardMetrics: false,
        enablePerformanceCounters: false,
        instrumentationOptions: {
          http: { enabled: false },
          azureSdk: { enabled: false },
          mongoDb: { enabled: false },
          mySql: { enabled: false },
          postgreSql: { enabled: false },
          redis: { enabled: false },
          redis4: { enabled: false },
          bunyan: { enabled: false },
          winston: { enabled: false },
          console: { enabled: false },
        },
      });
      return true;
    } catch (err) {
      // The connection string holds the instrumentation key: never repeated on the log.
      const message = (err instanceof Error ? err.message : String(err)).replaceAll(
        connectionString,
        `<${connectionStringSetting}>`,
      );
      logger.warn('telemetry export not started', { setting: connectionStringSetting, error: message });
      return false;
    }
  })();
  return started;
}
