/**
 * Helpers shared by the metadata-only handlers: update the container config and add an
 * empty-layer history entry with the right time.
 */
import { appendHistory, withContainerConfig } from '../../image/config.js';
import type { ContainerConfig } from '../../image/types.js';
import type { BuildSession } from '../session.js';
import type { StageState } from '../state.js';

/** Applies `patch` to the container config and records `createdBy` as an empty layer. */
export function commitMetadata(b: BuildSession, st: StageState, patch: Partial<ContainerConfig>, createdBy: string): void {
  st.config = withContainerConfig(st.config, patch);
  addHistory(b, st, createdBy);
}

/** An empty-layer history entry (time: SOURCE_DATE_EPOCH, else the stage's newest cache time). */
export function addHistory(b: BuildSession, st: StageState, createdBy: string): void {
  const time = b.sourceDateEpoch !== undefined ? { sourceDateEpoch: b.sourceDateEpoch } : st.created ? { created: st.created } : {};
  st.config = appendHistory(st.config, { created_by: createdBy }, time);
}
