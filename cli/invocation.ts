import { randomUUID } from 'node:crypto';
import { InvocationContext, type Timer } from '../functions/azure.ts';

/** An InvocationContext as the Functions host would build it, logging to `write`. */
export function hostContext(functionName: string, write: (line: string) => void): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    logHandler: (_level, ...args) => write(args.map(String).join(' ')),
  });
}

export function timerPayload(isPastDue: boolean): Timer {
  const now = new Date().toISOString();
  return {
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: now, next: now, lastUpdated: now },
  };
}
