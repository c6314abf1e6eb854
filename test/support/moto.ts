/** The moto launcher lives in dev/ (the local run uses it too). */
export * from '../../dev/moto.ts';
