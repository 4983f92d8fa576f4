/** The package's public API. */
export * from './errors.js';
export type * from './parser/ast.js';
export type * from './image/types.js';
export { BuildContext, copyPlan, extractContextTar, hashSources, matchSources, packContext, StatCache } from './context/index.js';
