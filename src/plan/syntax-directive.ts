/**
 * The `# syntax=` directive: BuildKit loads the frontend image it names and builds with it.
 * mybuild has one frontend, built in, and pulls no frontend images; it builds a Dockerfile whose
 * directive names the Dockerfile frontend (`docker/dockerfile[:tag][@digest]`, also
 * `docker.io/…` and `docker/dockerfile-upstream`) with it, and refuses any other frontend at the
 * directive (BuildKit fails there too, when the image cannot be resolved). Pure.
 */
import type { Dockerfile } from '../parser/ast.js';
import { planError, type ParseContext } from './instructions.js';

const DOCKERFILE_FRONTEND = /^(?:docker\.io\/)?docker\/dockerfile(?:-upstream)?(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Throws PlanError at the `syntax` directive when it names a frontend other than Dockerfile's. */
export function checkSyntaxDirective(ctx: ParseContext, ast: Dockerfile): void {
  const d = ast.directives.find((x) => x.name === 'syntax');
  if (!d || DOCKERFILE_FRONTEND.test(d.value)) return;
  throw planError(
    ctx,
    d.range,
    `unsupported frontend in syntax directive: ${JSON.stringify(d.value)}: mybuild builds with its built-in Dockerfile frontend and cannot load frontend images`,
    'remove the directive, or name the Dockerfile frontend: # syntax=docker/dockerfile:1',
  );
}
