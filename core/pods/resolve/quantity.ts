/**
 * Kubernetes resource quantities ("250m", "1.5Gi", "1e3"), parsed exactly.
 *
 * A quantity is held as sign * digits * 10^exp10 * 2^exp2 with `digits` a bigint, so nothing is
 * rounded until a caller asks for a value. `quantityValue` and `quantityMilliValue` round up,
 * like apimachinery's Quantity.Value() and MilliValue(), which is what the kubelet uses for the
 * downward API and for resource accounting.
 *
 * Grammar (k8s.io/apimachinery/pkg/api/resource):
 *   quantity  ::= sign? number suffix
 *   number    ::= digits | digits "." digits? | "." digits
 *   suffix    ::= "" | n | u | m | k | M | G | T | P | E          (decimal SI)
 *               | Ki | Mi | Gi | Ti | Pi | Ei                     (binary SI)
 *               | ("e" | "E") sign? digits                        (decimal exponent)
 */
import { InvalidInputError } from '../../errors.ts';

export interface Quantity {
  readonly negative: boolean;
  readonly digits: bigint;
  readonly exp10: number;
  readonly exp2: number;
}

const decimalSI: Readonly<Record<string, number>> = {
  '': 0,
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySI: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const quantityPattern = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(.*)$/;
const exponentPattern = /^[eE]([+-]?\d+)$/;

/** Parses a quantity; a malformed one is an InvalidInputError naming it. */
export function parseQuantity(text: string): Quantity {
  const match = quantityPattern.exec(text);
  if (!match) throw new InvalidInputError(`"${text}" is not a Kubernetes quantity`);
  const [, sign, whole, fraction, onlyFraction, suffix = ''] = match;
  const integerPart = whole ?? '';
  const fractionPart = fraction ?? onlyFraction ?? '';
  let exp10 = -fractionPart.length;
  let exp2 = 0;
  const decimal = decimalSI[suffix];
  const binary = binarySI[suffix];
  const exponent = exponentPattern.exec(suffix);
  if (decimal !== undefined) exp10 += decimal;
  else if (binary !== undefined) exp2 = binary;
  else if (exponent) exp10 += Number(exponent[1]);
  else throw new InvalidInputError(`"${text}" is not a Kubernetes quantity: unknown suffix "${suffix}"`);
  const digits = BigInt(integerPart + fractionPart);
  return { negative: sign === '-' && digits !== 0n, digits, exp10, exp2 };
}

/** The quantity times 10^scale, rounded up to an integer (towards +infinity). */
export function quantityCeil(q: Quantity, scale = 0): bigint {
  const magnitude = q.digits * 2n ** BigInt(q.exp2);
  const e = q.exp10 + scale;
  if (e >= 0) {
    const n = magnitude * 10n ** BigInt(e);
    return q.negative ? -n : n;
  }
  const d = 10n ** BigInt(-e);
  // bigint division truncates towards zero: that is ceil for negatives, floor for positives.
  return q.negative ? -(magnitude / d) : (magnitude + d - 1n) / d;
}

/** Quantity.Value(): the integer value, rounded up. Bytes for memory and storage. */
export function quantityValue(q: Quantity): bigint {
  return quantityCeil(q, 0);
}

/** Quantity.MilliValue(): the value in thousandths, rounded up. Millicores for CPU. */
export function quantityMilliValue(q: Quantity): bigint {
  return quantityCeil(q, 3);
}

/** The nearest double to the exact value. */
export function quantityToNumber(q: Quantity): number {
  return Number(`${q.negative ? '-' : ''}${q.digits}e${q.exp10}`) * 2 ** q.exp2;
}

/** CPU as cores, at the millicore precision the kubelet uses ("100m" -> 0.1, "0.0001" -> 0.001). */
export function cpuCores(text: string): number {
  return Number(quantityMilliValue(parseQuantity(text))) / 1000;
}

/** Memory or storage in whole bytes, rounded up ("1.5Ki" -> 1536). */
export function byteCount(text: string): number {
  return Number(quantityValue(parseQuantity(text)));
}

/** A countable resource such as nvidia.com/gpu, rounded up to a whole number. */
export function wholeCount(text: string): number {
  return Number(quantityValue(parseQuantity(text)));
}
