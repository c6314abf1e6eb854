/**
 * The few AWS Secrets Manager calls the ECS provider makes, over Secrets Manager's JSON API,
 * signed (SigV4) with the credentials the ECS client resolved. Errors are shaped as the AWS SDK
 * shapes them (name, $metadata), so aws-errors.ts classifies them like any other AWS failure.
 * Values are never logged and never put into an error message.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

export interface SecretsManagerOptions {
  region: string;
  /** Overrides https://secretsmanager.<region>.amazonaws.com (tests point it at moto). */
  endpoint?: string;
  credentials: AwsCredentialIdentityProvider;
  fetch?: typeof fetch;
}

export interface SecretsManager {
  /** Creates the secret, or puts a new value into the one of that name; returns its ARN. */
  putSecret(name: string, value: string, tags: Record<string, string>): Promise<string>;
  /** Names of the secrets whose names start with `prefix`. */
  listSecretNames(prefix: string): Promise<string[]>;
  /** Deletes at once, without the recovery window; a secret already gone is success. */
  deleteSecret(name: string): Promise<void>;
}

/** An error as the AWS SDK throws it: `name` is the exception, `$metadata` has the status. */
class SecretsManagerError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

export function secretsManager(options: SecretsManagerOptions): SecretsManager {
  const url = new URL(options.endpoint ?? `https://secretsmanager.${options.region}.amazonaws.com`);
  const doFetch = options.fetch ?? fetch;
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: 'secretsmanager',
    sha256: Sha256,
  });

  const call = async <T>(operation: string, input: object): Promise<T> => {
    const body = JSON.stringify(input);
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `secretsmanager.${operation}`,
      },
      body,
    });
    const response = await doFetch(url, { method: 'POST', headers: signed.headers, body });
    const text = await response.text();
    const parsed = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (!response.ok) {
      const type = typeof parsed.__type === 'string' ? parsed.__type : `HTTP${response.status}`;
      const message =
        typeof parsed.message === 'string' ? parsed.message : (parsed.Message as string | undefined);
      throw new SecretsManagerError(
        type.split('#').at(-1)!,
        `${operation}: ${message ?? type}`,
        response.status,
      );
    }
    return parsed as T;
  };

  return {
    async putSecret(name, value, tags) {
      try {
        const created = await call<{ ARN: string }>('CreateSecret', {
          Name: name,
          SecretString: value,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        });
        return created.ARN;
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'ResourceExistsException') throw err;
      }
      const put = await call<{ ARN: string }>('PutSecretValue', { SecretId: name, SecretString: value });
      return put.ARN;
    },
    async listSecretNames(prefix) {
      const names: string[] = [];
      let next: string | undefined;
      do {
        const page = await call<{ SecretList?: { Name?: string }[]; NextToken?: string | null }>(
          'ListSecrets',
          {
            Filters: [{ Key: 'name', Values: [prefix] }],
            MaxResults: 100,
            ...(next === undefined ? {} : { NextToken: next }),
          },
        );
        // The name filter matches prefixes of words too: keep exact prefixes only.
        for (const s of page.SecretList ?? []) if (s.Name?.startsWith(prefix)) names.push(s.Name);
        next = page.NextToken || undefined;
      } while (next !== undefined);
      return names;
    },
    async deleteSecret(name) {
      try {
        await call('DeleteSecret', { SecretId: name, ForceDeleteWithoutRecovery: true });
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'ResourceNotFoundException') throw err;
      }
    },
  };
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the SigV4 signer asks for. */
/** What createHash and createHmac both answer. */
type Digest = ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

class Sha256 {
  #hash: Digest;
  readonly #secret: Uint8Array | string | undefined;
  constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
    this.#secret = toBytes(secret);
    this.#hash = this.#fresh();
  }
  update(data: Uint8Array | string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data) ?? '');
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    this.#hash = this.#fresh();
  }
  #fresh(): Digest {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
}

function toBytes(
  data: Uint8Array | string | ArrayBuffer | ArrayBufferView | undefined,
): Uint8Array | string | undefined {
  if (data === undefined || typeof data === 'string' || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
