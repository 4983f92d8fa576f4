/**
 * Worker thread for fuzz-parser.test.ts: parses `workerData` (a Dockerfile) once in this fresh
 * isolate, as one mybuild run does, and posts the milliseconds the parse took.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseDockerfile } from '../../src/parser/index.js';

const t0 = performance.now();
parseDockerfile(workerData as string);
parentPort!.postMessage(performance.now() - t0);
