/**
 * @azure/functions is CommonJS; from this ES module its exports are reached through the default
 * import. Every function file takes them from here.
 */
import azureFunctions from '@azure/functions';

export const { app, InvocationContext, HttpRequest, HttpResponse } = azureFunctions;
export type {
  HttpHandler,
  HttpResponseInit,
  InvocationContextInit,
  Timer,
  TimerHandler,
} from '@azure/functions';
export type InvocationContext = azureFunctions.InvocationContext;
export type HttpRequest = azureFunctions.HttpRequest;
