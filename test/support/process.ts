// Process helpers live in dev/, shared with the local run.
export { freePort, startServer, waitFor, type ServerProcess } from '../../dev/process.ts';
