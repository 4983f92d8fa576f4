/**
 * The build context: a directory seen through .dockerignore, COPY source matching and
 * destination planning, content hashing with a stat cache, and context tars.
 */
export { BuildContext, normalizeContextPath, notFoundError } from './context.js';
export { MAX_BUILD_FILE_BYTES, readBuildFile, readBuildFileAt, readDockerfile } from './build-files.js';
export type { BuildFileOptions } from './build-files.js';
export type { ContextEntry, EntryType, OpenOptions, ResolveOptions, ResolvedPath } from './context.js';
export { parseIgnoreFile, Pattern, PatternMatcher, matchesPatterns } from './dockerignore.js';
export type { MatchInfo } from './dockerignore.js';
export { BadPatternError, goClean, goDir, goMatch, hasMeta } from './go-path.js';
export { copyPlan, matchSources } from './sources.js';
export type { CopyPlanOptions, CopyTarget, MatchSourcesOptions, PlanSource, SourceMatch } from './sources.js';
export { hashFile, hashSources, readChunks, StatCache } from './hash.js';
export type { FileReader, HashedFile, HashOptions, HashResult } from './hash.js';
export { extractContextTar, packContext } from './tar-context.js';
export type { ExtractResult } from './tar-context.js';
