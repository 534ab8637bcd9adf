/**
 * dynalite on a worker thread of its own (see dynamodb.ts): the twin's DynamoDB work, about a third of what an
 * incident costs on the laptop, then runs beside the handlers and the state machine instead of between them.
 * Protocol: workerData `{ path? }`; posts `{ port }` once listening (or `{ error }`); on the message `'stop'` closes
 * the server (and its keep-alive sockets) and posts `'stopped'`. (Its CPU time is read from outside, with
 * Worker#cpuUsage.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { closeServer, listen } from './http-util.ts';

const port = parentPort;
if (!port) throw new Error('dynamodb-thread.ts runs as a worker thread (new Worker), not on its own');

const server = dynalite({ createTableMs: 0, path: (workerData as { path?: string }).path });
listen(server, 0).then(
  () => port.postMessage({ port: (server.address() as AddressInfo).port }),
  (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) }),
);
port.on('message', (message: unknown) => {
  if (message === 'stop') closeServer(server).finally(() => port.postMessage('stopped'));
});
