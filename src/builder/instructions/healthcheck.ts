import type { HealthConfig as ImageHealth } from '../../oci/types.js';
import type { HealthcheckCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** HEALTHCHECK: the image's Healthcheck; zero durations and retries are left out, as Docker does. */
export const healthcheckHandler: Handler<HealthcheckCommand> = {
  async apply({ session, stage, cmd }) {
    const h = cmd.health;
    const health: ImageHealth = { Test: [...h.test] };
    if (h.interval) health.Interval = h.interval;
    if (h.timeout) health.Timeout = h.timeout;
    if (h.startPeriod) health.StartPeriod = h.startPeriod;
    if (h.startInterval) health.StartInterval = h.startInterval;
    if (h.retries) health.Retries = h.retries;
    commitMetadata(session, stage, { Healthcheck: health }, `HEALTHCHECK ${JSON.stringify(health)}`);
  },
};
