/**
 * Telemetry costs nothing without APPLICATIONINSIGHTS_CONNECTION_STRING: the bundle the host
 * loads holds none of the distro or the OpenTelemetry SDK in what it imports at start (they sit
 * in a chunk loaded only by startTelemetry), and startTelemetry does nothing without the setting.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { memoryLogger } from '../../../core/log.ts';
import { connectionStringSetting, startTelemetry } from '../../../core/telemetry/azureMonitor.ts';
import { bundleApp } from '../../../scripts/bundle.ts';

describe('telemetry at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-telemetry-bundle-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the distro and the SDK out of what the bundle loads at start, in a chunk of their own', async () => {
    const meta = await bundleApp(dir);
    const outputs = meta.outputs;
    const entry = Object.keys(outputs).find((f) => outputs[f]!.entryPoint === 'functions/app.ts');
    assert.ok(entry, 'the bundle has its entry');
    // Everything the entry imports statically, transitively: what a cold start reads.
    const loaded = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const i of outputs[file]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
    };
    visit(entry);
    const atStart = [...loaded].flatMap((f) => Object.keys(outputs[f]!.inputs));
    const sdk =
      /node_modules\/(@azure\/monitor-opentelemetry|@opentelemetry\/sdk-|@opentelemetry\/instrumentation)/;
    assert.deepEqual(
      atStart.filter((i) => sdk.test(i)),
      [],
      'no distro or SDK module among those loaded at start',
    );
    assert.ok(
      atStart.some((i) => i.includes('node_modules/@opentelemetry/api/')),
      'the API (a no-op until the SDK registers) is',
    );
    const later = Object.keys(outputs).filter(
      (f) => !loaded.has(f) && Object.keys(outputs[f]!.inputs).some((i) => sdk.test(i)),
    );
    assert.ok(later.length > 0, 'the distro is in the bundle, in chunks loaded later');
  });

  it('starts nothing without the setting, or with it empty', async () => {
    const { logger, lines } = memoryLogger();
    assert.equal(await startTelemetry({}, logger), false);
    assert.equal(await startTelemetry({ [connectionStringSetting]: '  ' }, logger), false);
    assert.deepEqual(lines, []);
    // Still the API's no-op: spans started now record nothing.
    assert.equal(trace.getTracer('funclet').startSpan('probe').isRecording(), false);
  });
});
