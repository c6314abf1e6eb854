import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RestartPolicy } from '../../../core/providers/types.ts';
import { startFakeAci, type FakeAci } from '../../fakes/aci/server.ts';
import { container, pod, providerFor } from './support.ts';

describe('the ACI fake scripted per pod through container env', () => {
  let fake: FakeAci;
  let nowMs = Date.UTC(2026, 10, 23, 12, 0, 0);

  before(async () => {
    fake = await startFakeAci({ now: () => nowMs });
  });

  after(async () => {
    await fake.close();
  });

  const scripted = (restartPolicy: RestartPolicy, code: number) =>
    pod({
      uid: crypto.randomUUID(),
      restartPolicy,
      containers: [
        container({
          env: [
            { name: 'FAKE_ACI_EXIT_CODE', value: String(code), secret: false },
            { name: 'FAKE_ACI_EXIT_AFTER_SECONDS', value: '2', secret: false },
          ],
        }),
      ],
    });

  it('ends a container with its code after the scripted time under restartPolicy Never', async () => {
    const { provider } = providerFor(fake);
    const ref = await provider.createPod(scripted('Never', 3));
    assert.equal((await provider.getPod(ref))?.phase, 'Running');
    nowMs += 2500;
    const view = await provider.getPod(ref);
    assert.equal(view?.phase, 'Failed');
    const state = view?.containers[0]?.state;
    assert.ok(state && 'terminated' in state && state.terminated.exitCode === 3);
  });

  it('restarts it, counting restarts and keeping the ended run, under OnFailure', async () => {
    const { provider } = providerFor(fake);
    const ref = await provider.createPod(scripted('OnFailure', 1));
    nowMs += 4500;
    const view = await provider.getPod(ref);
    assert.equal(view?.phase, 'Running');
    assert.equal(view?.containers[0]?.restartCount, 2);
    const last = view?.containers[0]?.lastState;
    assert.ok(last && 'terminated' in last && last.terminated.exitCode === 1);
  });
});
