import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import { cpuUnits, fargateSizeFor, mebibytes } from '../../../core/providers/ecs/fargate-size.ts';

void describe('Fargate task size', () => {
  void it('converts cores to CPU units and bytes to MiB, rounding up', () => {
    assert.equal(cpuUnits(0.25), 256);
    assert.equal(cpuUnits(0.1), 103);
    assert.equal(cpuUnits(0.001), 2);
    assert.equal(cpuUnits(1), 1024);
    assert.equal(cpuUnits(0), 0);
    assert.equal(mebibytes(256 * 1024 * 1024), 256);
    assert.equal(mebibytes(256 * 1024 * 1024 + 1), 257);
    assert.equal(mebibytes(0), 0);
  });

  const cases: [need: [number, number], size: [number, number]][] = [
    [
      [0, 0],
      [256, 512],
    ],
    [
      [100, 100],
      [256, 512],
    ],
    [
      [256, 513],
      [256, 1024],
    ],
    [
      [256, 2048],
      [256, 2048],
    ],
    // 0.25 vCPU tops out at 2 GiB: more memory moves up to 0.5 vCPU.
    [
      [256, 3000],
      [512, 3072],
    ],
    [
      [300, 512],
      [512, 1024],
    ],
    [
      [1024, 1],
      [1024, 2048],
    ],
    [
      [1024, 9000],
      [2048, 9216],
    ],
    [
      [4096, 30720],
      [4096, 30720],
    ],
    [
      [4096, 30721],
      [8192, 32768],
    ],
    // 8 vCPU steps by 4 GiB, 16 vCPU by 8 GiB.
    [
      [8192, 17000],
      [8192, 20480],
    ],
    [
      [8193, 1],
      [16384, 32768],
    ],
    [
      [16384, 122880],
      [16384, 122880],
    ],
  ];
  for (const [[cpu, memoryMiB], [wantCpu, wantMemory]] of cases) {
    void it(`rounds ${cpu} CPU units and ${memoryMiB} MiB up to ${wantCpu}/${wantMemory}`, () => {
      assert.deepEqual(fargateSizeFor({ cpu, memoryMiB }, 'linux'), { cpu: wantCpu, memoryMiB: wantMemory });
    });
  }

  void it('offers Windows tasks only 1, 2 and 4 vCPU', () => {
    assert.deepEqual(fargateSizeFor({ cpu: 256, memoryMiB: 512 }, 'windows'), { cpu: 1024, memoryMiB: 2048 });
    assert.throws(
      () => fargateSizeFor({ cpu: 8192, memoryMiB: 16384 }, 'windows'),
      /largest Windows Fargate task \(4 vCPU/,
    );
  });

  void it('refuses a pod larger than the largest Fargate task with a sentence saying both sizes', () => {
    assert.throws(
      () => fargateSizeFor({ cpu: 20 * 1024, memoryMiB: 1024 }, 'linux'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.equal(
          err.message,
          'the pod needs 20 vCPU and 1 GiB of memory, more than the largest Fargate task (16 vCPU and 120 GiB of memory)',
        );
        return true;
      },
    );
    assert.throws(() => fargateSizeFor({ cpu: 1024, memoryMiB: 122881 }, 'linux'), InvalidInputError);
  });
});
