/**
 * The provider against a loopback server that answers every ECS call with one AWS error, as ECS's
 * JSON protocol spells it: the real SDK parses it, and the provider retries or classifies it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, NotFoundError, ThrottledError } from '../../../core/errors.ts';
import { memoryLogger } from '../../../core/log.ts';
import { createEcsProvider } from '../../../core/providers/ecs/provider.ts';
import type { ProviderRef } from '../../../core/providers/types.ts';

void describe('the ECS provider when ECS answers with errors', () => {
  let server: Server;
  let endpoint: string;
  let answer = { status: 400, type: 'ThrottlingException' };
  const targets: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      targets.push(String(req.headers['x-amz-target']));
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: answer.type, message: `${answer.type} from the test server` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const ref: ProviderRef = { provider: 'ecs', id: 'arn:aws:ecs:us-east-1:1:task/pods/abc', podUid: 'u-1' };

  function provider(slept: number[]) {
    return createEcsProvider(
      {
        cluster: 'pods',
        region: 'us-east-1',
        subnets: ['subnet-1'],
        securityGroups: [],
        assignPublicIp: false,
        taskRoles: {},
        endpoint,
      },
      {
        clusterName: 'test',
        logger: memoryLogger().logger,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        retry: {
          maxAttempts: 4,
          random: () => 0,
          sleep: (ms) => {
            slept.push(ms);
            return Promise.resolve();
          },
        },
      },
    );
  }

  void it('retries a throttled call with backoff, then gives up with a ThrottledError', async () => {
    answer = { status: 400, type: 'ThrottlingException' };
    targets.length = 0;
    const slept: number[] = [];
    await assert.rejects(provider(slept).getPod(ref), (err: unknown) => {
      assert.ok(err instanceof ThrottledError);
      assert.match(
        err.message,
        /^describing ECS task .*: AWS is throttling requests; gave up after 4 attempts$/,
      );
      return true;
    });
    assert.equal(targets.length, 4, 'the SDK itself does not retry on top');
    assert.ok(targets.every((t) => t === 'AmazonEC2ContainerServiceV20141113.DescribeTasks'));
    // random() = 0: half of 200, 400, 800.
    assert.deepEqual(slept, [100, 200, 400]);
  });

  void it('treats HTTP 429 as throttling too', async () => {
    answer = { status: 429, type: 'TooManyRequestsException' };
    await assert.rejects(provider([]).listPods('vn-1'), ThrottledError);
  });

  void it('does not call a throttled health check unhealthy', async () => {
    answer = { status: 400, type: 'ThrottlingException' };
    await assert.rejects(provider([]).health(), ThrottledError);
  });

  void it('retries a call ECS failed on its side (503), then gives up without calling it throttling', async () => {
    answer = { status: 503, type: 'ServiceUnavailableException' };
    targets.length = 0;
    const slept: number[] = [];
    await assert.rejects(provider(slept).getPod(ref), (err: unknown) => {
      assert.ok(!(err instanceof ThrottledError));
      assert.match((err as Error).message, /^describing ECS task .*: ServiceUnavailableException: /);
      return true;
    });
    assert.equal(targets.length, 4);
    assert.deepEqual(slept, [100, 200, 400]);
  });

  void it('classifies other errors without retrying them', async () => {
    answer = { status: 400, type: 'ClusterNotFoundException' };
    targets.length = 0;
    await assert.rejects(provider([]).getPod(ref), NotFoundError);
    assert.equal(targets.length, 1);
    answer = { status: 400, type: 'AccessDeniedException' };
    const health = await provider([]).health();
    assert.equal(health.ok, false);
    assert.match(health.message ?? '', /^cannot reach ECS: .*AccessDeniedException/);
  });
});

void describe('creating the ECS provider', () => {
  const config = {
    cluster: 'pods',
    region: 'us-east-1',
    subnets: ['subnet-1'],
    securityGroups: [],
    assignPublicIp: false,
    taskRoles: {},
  };
  const deps = { clusterName: 'test', logger: memoryLogger().logger };

  void it('names every setting it cannot work without', () => {
    assert.throws(
      () => createEcsProvider({ ...config, subnets: [], logGroup: '/funclet' }, deps),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.settings, ['FUNCLET_ECS_SUBNETS', 'FUNCLET_ECS_EXECUTION_ROLE_ARN']);
        return true;
      },
    );
    assert.equal(createEcsProvider(config, deps).name, 'ecs');
  });
});
