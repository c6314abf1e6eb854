import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletAccess, subjectAccessReviewAuthorizer } from '../../../core/kubelet/authorization.ts';
import type { AuthorizationV1Api } from '@kubernetes/client-node';

describe('kubelet endpoint authorization', () => {
  it('maps paths to nodes subresources as the kubelet does', () => {
    const sub = (method: string, path: string) =>
      kubeletAccess(method, path).map((a) => `${a.verb} ${a.subresource}`);
    assert.deepEqual(sub('GET', '/containerLogs/ns/p/c'), ['get proxy']);
    assert.deepEqual(sub('GET', '/stats/summary'), ['get stats']);
    assert.deepEqual(sub('GET', '/metrics/resource'), ['get metrics']);
    assert.deepEqual(sub('GET', '/logs/'), ['get log']);
    assert.deepEqual(sub('GET', '/pods'), ['get pods', 'get proxy']);
    assert.deepEqual(sub('GET', '/healthz'), ['get healthz', 'get proxy']);
    assert.deepEqual(sub('POST', '/exec/ns/p/c'), ['create proxy']);
    // A path that only starts with a known prefix is not under it.
    assert.deepEqual(sub('GET', '/statsx'), ['get proxy']);
  });

  it('allows a request when any of its subresources is allowed, and caches the answers', async () => {
    const asked: string[] = [];
    const api = {
      createSubjectAccessReview: ({
        body,
      }: {
        body: { spec: { resourceAttributes: { subresource: string } } };
      }) => {
        const subresource = body.spec.resourceAttributes.subresource;
        asked.push(subresource);
        return Promise.resolve({ status: { allowed: subresource === 'proxy' } });
      },
    } as unknown as AuthorizationV1Api;
    const authorizer = subjectAccessReviewAuthorizer({ api });
    const user = { username: 'u', groups: ['g'] };
    assert.deepEqual(await authorizer.authorize(user, 'vk', 'GET', '/pods'), { allowed: true });
    assert.deepEqual(asked, ['pods', 'proxy']);
    await authorizer.authorize(user, 'vk', 'GET', '/pods');
    assert.deepEqual(asked, ['pods', 'proxy'], 'the second request is answered from the cache');
    const denied = await authorizer.authorize(user, 'vk', 'GET', '/stats/summary');
    assert.equal(denied.allowed, false);
    assert.match(
      denied.allowed ? '' : denied.message,
      /user=u, verb=get, resource=nodes, subresource\(s\)=\[stats\]/,
    );
  });
});
