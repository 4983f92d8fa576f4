/** Word expansion and the typed build plan (issue 2, back half). */
export * from './shell-lex.js';
export * from './instructions.js';
export * from './commands.js';
export { parseGoDuration } from './durations.js';
export { MountSpecError, parseMount } from './mounts.js';
export { suggest } from './suggest.js';
export * from './copy-sources.js';
export * from './chmod.js';
export * from './expand.js';
export * from './stage-env.js';
export * from './plan.js';
