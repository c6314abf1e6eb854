import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerGroupName, isValidContainerGroupName } from '../../../core/providers/aci/names.ts';

const uid = '3f1c2a9e-0000-4000-8000-000000000001';

describe('container group names', () => {
  it('reads as namespace and pod, with a suffix from the pod UID', () => {
    const name = containerGroupName({ namespace: 'shop', name: 'web-0', uid, attempt: 0 });
    assert.match(name, /^shop-web-0-[0-9a-f]{8}$/);
  });

  it('is the same for every call about the same pod and attempt', () => {
    const a = containerGroupName({ namespace: 'shop', name: 'web-0', uid, attempt: 0 });
    const b = containerGroupName({ namespace: 'shop', name: 'web-0', uid, attempt: 0 });
    assert.equal(a, b);
  });

  it('differs for a pod recreated under the same name, and for the next attempt of the same pod', () => {
    const first = containerGroupName({ namespace: 'shop', name: 'web-0', uid, attempt: 0 });
    const recreated = containerGroupName({
      namespace: 'shop',
      name: 'web-0',
      uid: uid.replace(/1$/, '2'),
      attempt: 0,
    });
    const retried = containerGroupName({ namespace: 'shop', name: 'web-0', uid, attempt: 1 });
    assert.notEqual(first, recreated);
    assert.notEqual(first, retried);
    assert.notEqual(recreated, retried);
  });

  it('is a valid ACI name for pods whose names ACI would refuse as they are', () => {
    const awkward = [
      { namespace: 'kube-system', name: 'coredns.v1--abc' },
      { namespace: 'a', name: 'x'.repeat(253) },
      { namespace: 'n'.repeat(63), name: 'p.'.repeat(40) },
      { namespace: 'ns', name: 'Upper_Case.Pod' },
      { namespace: 'x'.repeat(54), name: 'y' },
    ];
    for (const pod of awkward) {
      const name = containerGroupName({ ...pod, uid, attempt: 0 });
      assert.ok(
        isValidContainerGroupName(name),
        `${name} (from ${pod.namespace}/${pod.name}) is not a valid ACI name`,
      );
      assert.ok(name.length <= 63);
    }
  });

  it('knows what ACI refuses', () => {
    assert.equal(isValidContainerGroupName('ok-name-1'), true);
    for (const bad of ['', '-lead', 'trail-', 'dou--ble', 'Upper', 'dot.ted', 'a'.repeat(64)]) {
      assert.equal(isValidContainerGroupName(bad), false, bad);
    }
  });
});
