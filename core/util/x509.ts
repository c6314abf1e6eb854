/**
 * @peculiar/x509, loaded after the Reflect metadata polyfill its dependency injection needs.
 * Import X.509 and PKCS#10 support from here, never from the package directly.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

/** The Web Crypto type @peculiar/x509 expects (the DOM's, which Funclet's lib settings leave out). */
export type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[1];

x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

export { x509 };
