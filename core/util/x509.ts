/**
 * @peculiar/x509, loaded after the Reflect metadata polyfill its dependency injection needs.
 * Import X.509 and PKCS#10 support from here, never from the package directly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
