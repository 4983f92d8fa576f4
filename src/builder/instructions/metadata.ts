/**
 * Helpers shared by the metadata-only handlers: update the container config and add an
 * empty-layer history entry with the right time.
 */
import { appendHistory, withContainerConfig } from '../../image/config.js';
import type { ContainerConfig } from '../../oci/types.js';
import type { StepSession } from '../session.js';
import type { StageState } from '../state.js';

/** Applies `patch` to the container config and records `createdBy` as an empty layer. */
export function commitMetadata(session: StepSession, stage: StageState, patch: Partial<ContainerConfig>, createdBy: string): void {
  stage.config = withContainerConfig(stage.config, patch);
  addHistory(session, stage, createdBy);
}

/** An empty-layer history entry (time: SOURCE_DATE_EPOCH, else the stage's newest cache time). */
export function addHistory(session: StepSession, stage: StageState, createdBy: string): void {
  const time = session.sourceDateEpoch !== undefined ? { sourceDateEpoch: session.sourceDateEpoch } : stage.created ? { created: stage.created } : {};
  stage.config = appendHistory(stage.config, { created_by: createdBy }, time);
}
