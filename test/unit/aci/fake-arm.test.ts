/**
 * The fake ARM server keeps the REST contract the real SDK relies on. Driven through the real
 * ContainerInstanceManagementClient (and raw https where the SDK hides the detail).
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ContainerInstanceManagementClient, type ContainerGroup } from '@azure/arm-containerinstance';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { aciConfig, sdkClient, testCredential } from './support.ts';

const { resourceGroup: rg, region } = aciConfig();

function group(overrides: Partial<ContainerGroup> = {}): ContainerGroup {
  return {
    location: region,
    osType: 'Linux',
    restartPolicy: 'Never',
    tags: { owner: 'test' },
    containers: [
      {
        name: 'app',
        image: 'busybox',
        command: ['sleep', '3600'],
        ports: [{ port: 80 }],
        resources: { requests: { cpu: 0.5, memoryInGB: 1 } },
        environmentVariables: [{ name: 'PASSWORD', secureValue: 'hunter2' }],
      },
    ],
    ipAddress: { type: 'Public', ports: [{ port: 80, protocol: 'TCP' }] },
    imageRegistryCredentials: [{ server: 'r.example', username: 'u', password: 'registry-pass' }],
    ...overrides,
  };
}

async function rejection(
  promise: Promise<unknown>,
): Promise<{ statusCode?: number; code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { statusCode?: number; code?: string; message: string };
  }
  assert.fail('expected a rejection');
}

function rawGet(
  fake: FakeAci,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${fake.url}${path}`, { ca: fake.caPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the fake ACI ARM server', () => {
  let fake: FakeAci;
  let client: ContainerInstanceManagementClient;

  before(async () => {
    fake = await startFakeAci();
    client = sdkClient(fake);
  });
  after(() => fake.close());
  beforeEach(() => {
    for (const name of fake.groupNames()) fake.deleteGroup(name);
    fake.setProvisioningDelay(0);
    fake.setDeleteDelay(0);
    fake.setPageSize(100);
    fake.clearErrors();
    fake.resetRequests();
  });

  it('answers a PUT with 201 and an Azure-AsyncOperation it serves, InProgress until provisioned', async () => {
    fake.setProvisioningDelay(60_000);
    const headers: Record<string, string> = {};
    let status = 0;
    const poller = await client.containerGroups.beginCreateOrUpdate(rg, 'cg-one', group(), {
      onResponse: (raw) => {
        if (raw.request.method === 'PUT') {
          status = raw.status;
          Object.assign(headers, raw.headers.toJSON());
        }
      },
    });
    assert.equal(status, 201);
    assert.match(
      headers['azure-asyncoperation'] ?? '',
      /\/providers\/Microsoft\.ContainerInstance\/locations\/westeurope\/operations\/[0-9a-f-]+\?api-version=2023-05-01$/,
    );
    assert.equal(poller.isDone(), false);
    assert.equal((await client.containerGroups.get(rg, 'cg-one')).provisioningState, 'Creating');

    fake.completeProvisioning('cg-one');
    await poller.poll();
    assert.equal(poller.isDone(), true);
    const created = await client.containerGroups.get(rg, 'cg-one');
    assert.equal(created.provisioningState, 'Succeeded');
    assert.equal(created.containers[0]!.instanceView?.currentState?.state, 'Running');
    assert.match(created.ipAddress?.ip ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  });

  it('answers a PUT on an existing group with 200', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-two', group());
    let status = 0;
    await client.containerGroups.beginCreateOrUpdate(rg, 'cg-two', group({ tags: { owner: 'other' } }), {
      onResponse: (raw) => {
        if (raw.request.method === 'PUT') status = raw.status;
      },
    });
    assert.equal(status, 200);
    assert.deepEqual((await client.containerGroups.get(rg, 'cg-two')).tags, { owner: 'other' });
  });

  it('answers GET of a missing group with 404 and an ARM error body', async () => {
    const err = await rejection(client.containerGroups.get(rg, 'nope'));
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'ResourceNotFound');
    const raw = await rawGet(
      fake,
      `/subscriptions/${aciConfig().subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups/nope?api-version=2023-05-01`,
      {
        authorization: 'Bearer t',
      },
    );
    assert.deepEqual(Object.keys(JSON.parse(raw.body) as object), ['error']);
  });

  it('deletes with 200, answers 204 when there is nothing to delete, and 202 while a slow delete runs', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-del', group());
    const statuses: number[] = [];
    const onResponse = (raw: { request: { method: string }; status: number }): void => {
      if (raw.request.method === 'DELETE') statuses.push(raw.status);
    };
    await client.containerGroups.beginDeleteAndWait(rg, 'cg-del', { onResponse });
    await client.containerGroups.beginDeleteAndWait(rg, 'cg-del', { onResponse });
    assert.deepEqual(statuses, [200, 204]);

    fake.setDeleteDelay(60_000);
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-slow', group());
    const poller = await client.containerGroups.beginDelete(rg, 'cg-slow', { onResponse });
    assert.equal(statuses.at(-1), 202);
    assert.equal(poller.isDone(), false);
    assert.equal((await client.containerGroups.get(rg, 'cg-slow')).provisioningState, 'Deleting');
  });

  it('pages a resource group listing with nextLink, without instance views', async () => {
    fake.setPageSize(2);
    for (const name of ['cg-a', 'cg-b', 'cg-c', 'cg-d', 'cg-e']) {
      await client.containerGroups.beginCreateOrUpdateAndWait(rg, name, group());
    }
    await client.containerGroups.beginCreateOrUpdateAndWait('other-rg', 'cg-elsewhere', group());
    fake.resetRequests();
    const listed: ContainerGroup[] = [];
    for await (const g of client.containerGroups.listByResourceGroup(rg)) listed.push(g);
    assert.deepEqual(
      listed.map((g) => g.name),
      ['cg-a', 'cg-b', 'cg-c', 'cg-d', 'cg-e'],
    );
    assert.equal(fake.countRequests({ method: 'GET', path: '/containerGroups' }), 3);
    assert.ok(
      listed.every((g) => g.instanceView === undefined && g.containers[0]!.instanceView === undefined),
    );
  });

  it('never returns secret values', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-secret', group());
    const got = await client.containerGroups.get(rg, 'cg-secret');
    assert.deepEqual(got.containers[0]!.environmentVariables, [{ name: 'PASSWORD' }]);
    assert.equal(got.imageRegistryCredentials?.[0]?.password, undefined);
    assert.equal(
      fake.groupSpec('cg-secret')?.properties.containers[0]?.properties.environmentVariables?.[0]
        ?.secureValue,
      'hunter2',
    );
  });

  it('rejects a container limit above the group total request as ACI does', async () => {
    const c = group().containers[0]!;
    const err = await rejection(
      client.containerGroups.beginCreateOrUpdate(
        rg,
        'cg-limit',
        group({
          containers: [{ ...c, resources: { requests: { cpu: 0.3, memoryInGB: 1 }, limits: { cpu: 1.5 } } }],
        }),
      ),
    );
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'ContainerLimitGreaterThanContainerGroupTotalRequest');
    assert.match(
      err.message,
      /The 'Cpu' limit '1.5' in container 'app' is greater than the total request '0.3' of container group 'cg-limit'/,
    );
  });

  it('rejects invalid names, a missing image and a limit below the request', async () => {
    const c = group().containers[0]!;
    const cases: [string, ContainerGroup, string][] = [
      ['Bad--Name', group(), 'ContainerGroupNameInvalid'],
      ['cg-x', group({ containers: [{ ...c, name: 'Has_Underscore' }] }), 'InvalidContainerName'],
      ['cg-x', group({ containers: [{ ...c, image: '' }] }), 'InvalidContainerImage'],
      [
        'cg-x',
        group({
          containers: [{ ...c, resources: { requests: { cpu: 1, memoryInGB: 1 }, limits: { cpu: 0.5 } } }],
        }),
        'ResourceLimitsLessThanRequests',
      ],
    ];
    for (const [name, body, code] of cases) {
      const err = await rejection(client.containerGroups.beginCreateOrUpdate(rg, name, body));
      assert.equal(err.statusCode, 400, code);
      assert.equal(err.code, code);
    }
    assert.deepEqual(fake.groupNames(), []);
  });

  it('requires a bearer token and exactly the SDK api-version', async () => {
    const path = `/subscriptions/s/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2023-05-01`;
    assert.equal((await rawGet(fake, path)).status, 401);
    const old = new ContainerInstanceManagementClient(testCredential, 's', {
      endpoint: fake.url,
      $host: fake.url,
      apiVersion: '2021-10-01',
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: fake.caPem },
    });
    const err = await rejection(old.containerGroups.get(rg, 'anything'));
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'InvalidApiVersionParameter');
  });

  it('serves container logs with tail and timestamps', async () => {
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-logs', group());
    fake.appendLogs('cg-logs', 'app', ['one', 'two', 'three']);
    assert.equal((await client.containers.listLogs(rg, 'cg-logs', 'app')).content, 'one\ntwo\nthree\n');
    assert.equal(
      (await client.containers.listLogs(rg, 'cg-logs', 'app', { tail: 2 })).content,
      'two\nthree\n',
    );
    const stamped =
      (await client.containers.listLogs(rg, 'cg-logs', 'app', { tail: 1, timestamps: true })).content ?? '';
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z three\n$/);
  });

  it('reports location usages from the groups it holds', async () => {
    fake.setUsageLimit('StandardCores', 10);
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-u1', group());
    await client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-u2', group());
    const usages = new Map<string, { currentValue?: number; limit?: number }>();
    for await (const u of client.location.listUsage(region)) usages.set(u.name?.value ?? '', u);
    assert.deepEqual(usages.get('StandardCores'), {
      unit: 'Count',
      currentValue: 1,
      limit: 10,
      name: { value: 'StandardCores', localizedValue: 'Standard Cores' },
    });
    assert.equal(usages.get('ContainerGroups')?.currentValue, 2);
  });

  it('fails the next requests on demand, with Retry-After', async () => {
    fake.injectErrors({
      status: 429,
      retryAfterSeconds: 3,
      times: 2,
      method: 'GET',
      path: '/containerGroups/cg-',
    });
    const first = await rejection(client.containerGroups.get(rg, 'cg-any'));
    const second = await rejection(client.containerGroups.get(rg, 'cg-any'));
    const third = await rejection(client.containerGroups.get(rg, 'cg-any'));
    assert.deepEqual([first.statusCode, second.statusCode, third.statusCode], [429, 429, 404]);
    assert.equal(fake.countRequests({ method: 'GET' }), 3);
  });

  it('marks provisioning failed when told to, with a Warning event', async () => {
    fake.failNextProvisioning({
      code: 'InaccessibleImage',
      message: "The image 'private/x' is not accessible.",
    });
    await assert.rejects(client.containerGroups.beginCreateOrUpdateAndWait(rg, 'cg-fail', group()));
    const failed = await client.containerGroups.get(rg, 'cg-fail');
    assert.equal(failed.provisioningState, 'Failed');
    assert.equal(failed.instanceView?.events?.[0]?.type, 'Warning');
  });
});
