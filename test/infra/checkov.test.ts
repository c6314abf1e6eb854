/**
 * checkov over infra/: the Bicep templates, the Terraform configuration and the Kubernetes
 * manifests. Without an API key checkov reports no severities, so the bar is every check: a
 * failed check fails the test unless it is suppressed where it occurs (`// checkov:skip=ID: why`
 * in Bicep, `#checkov:skip=ID: why` in Terraform, a `checkov.io/skipN: ID=why` annotation in a
 * manifest) with a real justification, or listed with one in checkov-pending-suppressions.json.
 * A missing checkov fails the test: a scan that did not run proves nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkovBinary,
  describeFinding,
  installHint,
  isJustified,
  pendingSuppressions,
  runCheckov,
  type CheckovReport,
  type Framework,
} from './checkov.ts';

const scans: { framework: Framework; dir: string }[] = [
  { framework: 'bicep', dir: 'infra/bicep' },
  { framework: 'terraform', dir: 'infra/terraform' },
  { framework: 'kubernetes', dir: 'infra/k8s' },
];

/** Failed checks that neither an inline suppression nor the pending list covers, and skips without a reason. */
function violations(framework: Framework, report: CheckovReport): string[] {
  const pending = pendingSuppressions().filter((p) => p.framework === framework);
  const unsuppressed = report.failed.filter(
    (f) => !pending.some((p) => p.check === f.check && p.resource === f.resource && isJustified(p.reason)),
  );
  return [
    ...unsuppressed.map((f) => `failed: ${describeFinding(f)}`),
    ...report.skipped
      .filter((s) => !isJustified(s.reason))
      .map((s) => `suppressed without a justification: ${describeFinding(s)}`),
    ...report.parsingErrors.map((file) => `checkov could not parse ${file}, so it checked nothing in it`),
  ];
}

describe('checkov', { timeout: 300_000 }, () => {
  const binary = checkovBinary();
  const reports = new Map<Framework, Promise<CheckovReport>>();
  // A template that must fail: a storage account open to the world, and a skip with no reason.
  const negativeDir = mkdtempSync(join(tmpdir(), 'funclet-checkov-negative-'));
  let negative: Promise<CheckovReport> | undefined;

  before(() => {
    if (!binary) return;
    // The scans are independent processes: run them side by side.
    for (const { framework, dir } of scans) {
      const report = runCheckov(binary, dir, framework);
      report.catch(() => undefined); // awaited by its test
      reports.set(framework, report);
    }
    writeFileSync(
      join(negativeDir, 'open.bicep'),
      [
        "resource open 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
        "  name: 'funcletopen'",
        "  location: 'westeurope'",
        "  kind: 'StorageV2'",
        "  sku: { name: 'Standard_GRS' }",
        '  properties: {',
        '    allowBlobPublicAccess: true',
        "    minimumTlsVersion: 'TLS1_0'",
        '  }',
        '}',
        "resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {",
        '  // checkov:skip=CKV_AZURE_42',
        "  name: 'funcletopen'",
        "  location: 'westeurope'",
        "  properties: { tenantId: subscription().tenantId, sku: { family: 'A', name: 'standard' } }",
        '}',
        '',
      ].join('\n'),
    );
    negative = runCheckov(binary, negativeDir, 'bicep');
    negative.catch(() => undefined);
  });

  after(() => rmSync(negativeDir, { recursive: true, force: true }));

  it('is installed', () => {
    assert.ok(binary, installHint);
  });

  it('flags an insecure template and an unjustified suppression, so this test can fail', async () => {
    assert.ok(binary && negative, installHint);
    const found = violations('bicep', await negative);
    assert.ok(
      found.some((v) => v.startsWith('failed: CKV_AZURE_44')),
      `TLS 1.0 is flagged:\n${found.join('\n')}`,
    );
    assert.ok(
      found.some((v) => v.startsWith('suppressed without a justification: CKV_AZURE_42')),
      `the bare skip is flagged:\n${found.join('\n')}`,
    );
  });

  for (const { framework, dir } of scans) {
    it(`${dir} (${framework}): no failed check outside a justified suppression`, async () => {
      assert.ok(binary, installHint);
      const report = await reports.get(framework)!;
      assert.ok(report.resourceCount > 0, `checkov found no ${framework} resources in ${dir}`);
      const found = violations(framework, report);
      assert.deepEqual(found, [], `checkov findings in ${dir}:\n  ${found.join('\n  ')}`);
    });
  }

  it('lists no pending suppression that no longer matches a finding', async (t) => {
    assert.ok(binary, installHint);
    for (const p of pendingSuppressions()) {
      const report = await reports.get(p.framework)!;
      if (!report.failed.some((f) => f.check === p.check && f.resource === p.resource))
        // Moved into the manifest or fixed: time to drop it from the list. Not a failure, since
        // the manifest's owner may change it at any time.
        t.diagnostic(`stale pending suppression: ${p.check} on ${p.resource}`);
    }
  });
});
