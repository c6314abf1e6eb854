import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKubeletApiRequest } from '../../../core/kubelet/protocol.ts';

describe('kubeletApi requests', () => {
  it('accepts each op with its fields', () => {
    assert.deepEqual(
      parseKubeletApiRequest('{"op":"announce","node":"vk-1","address":"10.1.2.3","port":10250}'),
      {
        ok: true,
        request: { op: 'announce', node: 'vk-1', address: '10.1.2.3', port: 10250 },
      },
    );
    assert.deepEqual(parseKubeletApiRequest('{"op":"statsSummary","node":"vk-1"}'), {
      ok: true,
      request: { op: 'statsSummary', node: 'vk-1' },
    });
    const logs = parseKubeletApiRequest(
      '{"op":"containerLogs","node":"vk-1","namespace":"ns","pod":"p","container":"c","tailLines":3,"timestamps":true,"cursor":"abc"}',
    );
    assert.deepEqual(logs, {
      ok: true,
      request: {
        op: 'containerLogs',
        node: 'vk-1',
        namespace: 'ns',
        pod: 'p',
        container: 'c',
        tailLines: 3,
        timestamps: true,
        cursor: 'abc',
      },
    });
  });

  it('refuses anything off the schema, naming the field', () => {
    const problem = (body: string) => {
      const parsed = parseKubeletApiRequest(body);
      return parsed.ok ? 'accepted' : parsed.problem;
    };
    assert.equal(problem('not json'), 'body is not JSON');
    assert.equal(
      problem('{"op":"announce","node":"vk","address":"vk.example","port":1}'),
      'address must be an IP address',
    );
    assert.equal(
      problem('{"op":"announce","node":"vk","address":"10.0.0.1","port":70000}'),
      'port must be a port number',
    );
    assert.equal(
      problem('{"op":"containerLogs","node":"vk","namespace":"../x","pod":"p","container":"c"}'),
      'namespace must be a namespace name',
    );
    assert.equal(
      problem('{"op":"containerLogs","node":"vk","namespace":"n","pod":"p","container":"c","tailLines":-1}'),
      'tailLines must be a whole number >= 0',
    );
    assert.equal(
      problem(
        '{"op":"containerLogs","node":"vk","namespace":"n","pod":"p","container":"c","previous":"yes"}',
      ),
      'previous must be true or false',
    );
    assert.equal(
      problem('{"op":"exec","node":"vk"}'),
      'op must be announce, containerLogs, statsSummary or execSession',
    );
    assert.equal(problem('{"op":"statsSummary","node":"Not_A_Node"}'), 'node must be a node name');
  });
});
