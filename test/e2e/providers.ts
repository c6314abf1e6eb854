import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { TokenCredential } from '@azure/identity';
import { Setting } from '../../core/config.ts';
import type { ProviderOverrides } from '../../core/providers/index.ts';
import type { ProviderName } from '../../core/providers/types.ts';
import { startFakeAci, type FakeAci, type FakeAciOptions } from '../fakes/aci/server.ts';
import { testEnv, uniqueName } from '../support/env.ts';

/** One provider as the end-to-end scenarios drive it: settings, credentials, and how to stop its backend. */
export interface ProviderUnderTest {
  name: ProviderName;
  settings: Record<string, string>;
  overrides: ProviderOverrides;
  /** Whether the backend reports containers ready (moto models no container health). */
  reportsReady: boolean;
  stop(): Promise<void>;
}

const awsRegion = 'us-east-1';
const awsCredentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const azureCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** ACI as the scenarios drive it, with the ARM fake's test controls at hand. */
export async function aciUnderTest(
  options: FakeAciOptions = {},
): Promise<ProviderUnderTest & { fake: FakeAci }> {
  const fake: FakeAci = await startFakeAci(options);
  return {
    name: 'aci',
    fake,
    settings: {
      [Setting.aciSubscriptionId]: '00000000-0000-0000-0000-0000000000e2',
      [Setting.aciResourceGroup]: uniqueName('rg'),
      [Setting.aciRegion]: 'westeurope',
      [Setting.aciArmEndpoint]: fake.url,
    },
    overrides: { aci: { credential: azureCredential, trustedCaPem: fake.caPem } },
    reportsReady: true,
    stop: () => fake.close(),
  };
}

export async function providerUnderTest(name: ProviderName): Promise<ProviderUnderTest> {
  switch (name) {
    case 'mock':
      return { name, settings: {}, overrides: {}, reportsReady: true, stop: () => Promise.resolve() };
    case 'aci':
      return aciUnderTest();
    case 'ecs': {
      const endpoint = testEnv().moto.endpoint;
      const cluster = uniqueName('ecs');
      // moto would otherwise move each task toward STOPPED on every DescribeTasks.
      const hold = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
        method: 'POST',
        body: JSON.stringify({
          model_name: 'ecs::task',
          transition: { progression: 'manual', times: 1_000_000 },
        }),
      });
      if (!hold.ok) throw new Error(`moto set-transition: HTTP ${hold.status}`);
      await new ECSClient({ region: awsRegion, endpoint, credentials: awsCredentials }).send(
        new CreateClusterCommand({ clusterName: cluster }),
      );
      const ec2 = new EC2Client({ region: awsRegion, endpoint, credentials: awsCredentials });
      const subnet = (
        await ec2.send(
          new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
        )
      ).Subnets?.[0]?.SubnetId;
      const group = (
        await ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }),
        )
      ).SecurityGroups?.[0]?.GroupId;
      if (!subnet || !group) throw new Error("moto's default VPC has no subnet or security group");
      return {
        name,
        settings: {
          [Setting.ecsCluster]: cluster,
          [Setting.ecsRegion]: awsRegion,
          [Setting.ecsSubnets]: subnet,
          [Setting.ecsSecurityGroups]: group,
          [Setting.ecsEndpoint]: endpoint,
          // As modules/aws-ecs creates it: tasks read their Secret values from Secrets Manager with it.
          [Setting.ecsExecutionRoleArn]: 'arn:aws:iam::123456789012:role/funclet-task-execution',
        },
        overrides: { ecs: { credentials: awsCredentials } },
        reportsReady: false,
        stop: () => Promise.resolve(),
      };
    }
  }
}
