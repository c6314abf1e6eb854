import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  byteCount,
  cpuCores,
  parseQuantity,
  quantityMilliValue,
  quantityToNumber,
  quantityValue,
  wholeCount,
} from '../../../core/pods/resolve/quantity.ts';

describe('Kubernetes quantities', () => {
  it('reads CPU in cores from millicores, decimals and exponents', () => {
    assert.equal(cpuCores('250m'), 0.25);
    assert.equal(cpuCores('1'), 1);
    assert.equal(cpuCores('1.5'), 1.5);
    assert.equal(cpuCores('.5'), 0.5);
    assert.equal(cpuCores('2.'), 2);
    assert.equal(cpuCores('1e3'), 1000);
    assert.equal(cpuCores('1E-1'), 0.1);
    assert.equal(cpuCores('1k'), 1000);
  });

  it('rounds CPU up to whole millicores, as the kubelet does', () => {
    assert.equal(cpuCores('0.0001'), 0.001);
    assert.equal(cpuCores('100u'), 0.001);
    assert.equal(cpuCores('1500000n'), 0.002);
  });

  it('reads memory in bytes with decimal and binary suffixes', () => {
    assert.equal(byteCount('128974848'), 128974848);
    assert.equal(byteCount('129e6'), 129000000);
    assert.equal(byteCount('129M'), 129000000);
    assert.equal(byteCount('123Mi'), 128974848);
    assert.equal(byteCount('1.5Gi'), 1610612736);
    assert.equal(byteCount('1Ki'), 1024);
    assert.equal(byteCount('1Ti'), 2 ** 40);
    assert.equal(byteCount('1Pi'), 2 ** 50);
    assert.equal(byteCount('2Ei'), 2 ** 61);
    assert.equal(byteCount('1T'), 1e12);
    assert.equal(byteCount('1P'), 1e15);
    assert.equal(byteCount('1E'), 1e18);
    assert.equal(byteCount('1G'), 1e9);
  });

  it('rounds fractional bytes up', () => {
    assert.equal(byteCount('0.5'), 1);
    assert.equal(byteCount('1500m'), 2);
    assert.equal(byteCount('0.3Ki'), 308); // 307.2
  });

  it('keeps exact values and signs until asked', () => {
    assert.deepEqual(parseQuantity('1.25Mi'), { negative: false, digits: 125n, exp10: -2, exp2: 20 });
    assert.equal(quantityValue(parseQuantity('1.25Mi')), 1310720n);
    assert.equal(quantityMilliValue(parseQuantity('-1.5')), -1500n);
    assert.equal(quantityValue(parseQuantity('-1.5')), -1n);
    assert.equal(quantityValue(parseQuantity('+3')), 3n);
    assert.equal(quantityToNumber(parseQuantity('0.1')), 0.1);
    assert.equal(quantityToNumber(parseQuantity('100m')), 0.1);
    assert.equal(wholeCount('2'), 2);
  });

  it('refuses what is not a quantity', () => {
    for (const bad of ['', '.', 'abc', '1.2.3', '1 Gi', '1gi', '1Gb', '1e', '1e1.5', 'Gi', '1m1', '--1']) {
      assert.throws(() => parseQuantity(bad), InvalidInputError, `"${bad}" should be refused`);
    }
  });
});
