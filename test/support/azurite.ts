/** The Azurite launcher lives in dev/ (the local run uses it too). */
export * from '../../dev/azurite.ts';
