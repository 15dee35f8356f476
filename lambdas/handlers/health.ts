import { httpHandler, json } from '#runtime/http.ts';

/** `GET /health`: liveness for load balancers and the Kubernetes probes; touches no dependency. */
export const handler = httpHandler(async () => json(200, { status: 'ok', service: 'vigil' }));
