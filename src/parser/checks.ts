/**
 * BuildKit's build checks (frontend/dockerfile/linter): the rule catalogue with BuildKit's names,
 * descriptions, documentation links and message texts; the `check=` option syntax
 * (`skip=A,B;error=true;experimental=C`, linter.ParseLintOptions); and the purely syntactic
 * checks that need nothing but one instruction.
 *
 * `runChecks(ast, out)` (called by the parser) appends the syntactic warnings unfiltered: no
 * `# check=` directive or comment is applied there. The build and `--check` use
 * `src/checks/checks.ts`, which runs every rule and honours the directive, the per-instruction
 * `# check=` comments and the BUILDKIT_DOCKERFILE_CHECK build arg. Pure.
 */
import type { Dockerfile, Instruction, ParseWarning } from './ast.js';
import { goToLower, goToUpper, trimSpace } from './go.js';

/** One rule of BuildKit's linter (ruleset.go). */
export interface CheckRule {
  name: string;
  description: string;
  /** https://docs.docker.com/go/dockerfile/rule/<kebab-name>/ ('' for InvalidBaseImagePlatform, as BuildKit). */
  url: string;
  /** Experimental rules run only when enabled with `experimental=` (skip= does not apply to them). */
  experimental: boolean;
}

function rule(name: string, description: string, opts: { url?: boolean; experimental?: boolean } = {}): CheckRule {
  const kebab = name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
  return { name, description, url: opts.url === false ? '' : `https://docs.docker.com/go/dockerfile/rule/${kebab}/`, experimental: opts.experimental ?? false };
}

/** The 22 rules of current BuildKit, by name. */
export const RULES = {
  StageNameCasing: rule('StageNameCasing', 'Stage names should be lowercase'),
  FromAsCasing: rule('FromAsCasing', "The 'as' keyword should match the case of the 'from' keyword"),
  NoEmptyContinuation: rule('NoEmptyContinuation', 'Empty continuation lines will become errors in a future release'),
  ConsistentInstructionCasing: rule('ConsistentInstructionCasing', 'All commands within the Dockerfile should use the same casing (either upper or lower)'),
  DuplicateStageName: rule('DuplicateStageName', 'Stage names should be unique'),
  ReservedStageName: rule('ReservedStageName', 'Reserved words should not be used as stage names'),
  JSONArgsRecommended: rule('JSONArgsRecommended', 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals'),
  MaintainerDeprecated: rule('MaintainerDeprecated', 'The MAINTAINER instruction is deprecated, use a label instead to define an image author'),
  UndefinedArgInFrom: rule('UndefinedArgInFrom', 'FROM command must use declared ARGs'),
  WorkdirRelativePath: rule('WorkdirRelativePath', 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes'),
  UndefinedVar: rule('UndefinedVar', 'Variables should be defined before their use'),
  MultipleInstructionsDisallowed: rule('MultipleInstructionsDisallowed', 'Multiple instructions of the same type should not be used in the same stage'),
  LegacyKeyValueFormat: rule('LegacyKeyValueFormat', 'Legacy key/value format with whitespace separator should not be used'),
  InvalidBaseImagePlatform: rule('InvalidBaseImagePlatform', 'Base image platform does not match expected target platform', { url: false }),
  RedundantTargetPlatform: rule('RedundantTargetPlatform', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior'),
  SecretsUsedInArgOrEnv: rule('SecretsUsedInArgOrEnv', 'Sensitive data should not be used in the ARG or ENV commands'),
  InvalidDefaultArgInFrom: rule('InvalidDefaultArgInFrom', 'Default value for global ARG results in an empty or invalid base image name'),
  FromPlatformFlagConstDisallowed: rule('FromPlatformFlagConstDisallowed', 'FROM --platform flag should not use a constant value'),
  CopyIgnoredFile: rule('CopyIgnoredFile', 'Attempting to Copy file that is excluded by .dockerignore'),
  InvalidDefinitionDescription: rule(
    'InvalidDefinitionDescription',
    'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
    { experimental: true },
  ),
  ExposeProtoCasing: rule('ExposeProtoCasing', 'Protocol in EXPOSE instruction should be lowercase'),
  ExposeInvalidFormat: rule('ExposeInvalidFormat', 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release'),
} as const satisfies Record<string, CheckRule>;

export type RuleName = keyof typeof RULES;

/** BuildKit's message texts (each rule's Format). */
export const MESSAGES = {
  StageNameCasing: (stage: string) => `Stage name '${stage}' should be lowercase`,
  FromAsCasing: (from: string, as: string) => `'${as}' and '${from}' keywords' casing do not match`,
  NoEmptyContinuation: () => 'Empty continuation line',
  ConsistentInstructionCasing: (cmd: string, casing: string) => `Command '${cmd}' should match the case of the command majority (${casing})`,
  DuplicateStageName: (stage: string) => `Duplicate stage name ${goQuote(stage)}, stage names should be unique`,
  ReservedStageName: (stage: string) => `Stage name should not use the same name as reserved stage ${goQuote(stage)}`,
  JSONArgsRecommended: (cmd: string) => `JSON arguments recommended for ${cmd} to prevent unintended behavior related to OS signals`,
  MaintainerDeprecated: () => 'Maintainer instruction is deprecated in favor of using label',
  UndefinedArgInFrom: (arg: string, suggest: string) => `FROM argument '${arg}' is not declared${suggest ? ` (did you mean ${suggest}?)` : ''}`,
  WorkdirRelativePath: (workdir: string) => `Relative workdir ${goQuote(workdir)} can have unexpected results if the base image changes`,
  UndefinedVar: (name: string, suggest: string) => `Usage of undefined variable '$${name}'${suggest ? ` (did you mean $${suggest}?)` : ''}`,
  MultipleInstructionsDisallowed: (cmd: string) => `Multiple ${cmd} instructions should not be used in the same stage because only the last one will be used`,
  LegacyKeyValueFormat: (cmd: string) => `"${cmd} key=value" should be used instead of legacy "${cmd} key value" format`,
  InvalidBaseImagePlatform: (image: string, expected: string, actual: string) => `Base image ${image} was pulled with platform ${goQuote(actual)}, expected ${goQuote(expected)} for current build`,
  RedundantTargetPlatform: (platformVar: string) => `Setting platform to predefined ${platformVar} in FROM is redundant as this is the default behavior`,
  SecretsUsedInArgOrEnv: (instruction: string, key: string) => `Do not use ARG or ENV instructions for sensitive data (${instruction} ${goQuote(key)})`,
  InvalidDefaultArgInFrom: (baseName: string) => `Default value for ARG ${baseName} results in empty or invalid base image name`,
  FromPlatformFlagConstDisallowed: (platform: string) => `FROM --platform flag should not use constant value ${goQuote(platform)}`,
  CopyIgnoredFile: (cmd: string, file: string) => `Attempting to ${cmd} file ${goQuote(file)} that is excluded by .dockerignore`,
  InvalidDefinitionDescription: (instruction: string, name: string) => `Comment for ${instruction} should follow the format: \`# ${name} <description>\``,
  ExposeProtoCasing: (port: string) => `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
  ExposeInvalidFormat: (port: string) => `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
} as const satisfies Record<RuleName, (...args: string[]) => string>;

/** Go's `%q` for the strings rule messages quote (printable text: JSON's escaping is the same). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** What `check=` asks for (linter.Config). */
export interface CheckConfig {
  skipAll: boolean;
  skip: ReadonlySet<string>;
  experimentalAll: boolean;
  experimental: ReadonlySet<string>;
  /** `error=true`: any fired rule fails the build ("lint violation found for rules: …"). */
  error: boolean;
}

export const DEFAULT_CHECK_CONFIG: CheckConfig = { skipAll: false, skip: new Set(), experimentalAll: false, experimental: new Set(), error: false };

/** Go strconv.ParseBool. */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * Parses a `check=` value (`skip=A,B;error=true;experimental=all`) as linter.ParseLintOptions:
 * at most three `;`-separated `key=value` parts; keys skip, experimental (both take `all` or a
 * comma list) and error (a Go bool). Throws an Error with BuildKit's message on anything else.
 */
export function parseCheckOptions(value: string): CheckConfig {
  const s = trimSpace(value);
  if (s === '') return DEFAULT_CHECK_CONFIG;
  const parts: string[] = [];
  let rest = s;
  while (parts.length < 2 && rest.includes(';')) {
    const i = rest.indexOf(';');
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  parts.push(rest);
  let skipAll = false;
  let experimentalAll = false;
  let error = false;
  let skip: string[] = [];
  let experimental: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) throw new Error(`invalid check option ${goQuote(p)}`);
    const k = trimSpace(p.slice(0, eq));
    const v = trimSpace(p.slice(eq + 1));
    if (k === 'skip') {
      if (v === 'all') skipAll = true;
      else skip = v.split(',').map(trimSpace);
    } else if (k === 'experimental') {
      if (v === 'all') experimentalAll = true;
      else experimental = v.split(',').map(trimSpace);
    } else if (k === 'error') {
      const b = parseGoBool(v);
      if (b === undefined) throw new Error(`failed to parse check option ${goQuote(p)}: strconv.ParseBool: parsing ${goQuote(v)}: invalid syntax`);
      error = b;
    } else {
      throw new Error(`invalid check option ${goQuote(k)}`);
    }
  }
  return { skipAll, skip: new Set(skip), experimentalAll, experimental: new Set(experimental), error };
}

/** linter.WithMergedConfig: `other` can only add skips and experimental rules (never `error`). */
export function mergeCheckConfig(base: CheckConfig, other: CheckConfig): CheckConfig {
  return {
    skipAll: base.skipAll || other.skipAll,
    skip: other.skip.size ? new Set([...base.skip, ...other.skip]) : base.skip,
    experimentalAll: base.experimentalAll || other.experimentalAll,
    experimental: other.experimental.size ? new Set([...base.experimental, ...other.experimental]) : base.experimental,
    error: base.error,
  };
}

/** Whether `config` lets `r` fire (linter.Run): experimental rules need enabling, others may be skipped. */
export function ruleEnabled(config: CheckConfig, r: CheckRule): boolean {
  if (r.experimental) return config.experimentalAll || config.experimental.has(r.name);
  return !(config.skipAll || config.skip.has(r.name));
}

function isSelfConsistentCasing(s: string): boolean {
  return s === goToLower(s) || s === goToUpper(s);
}

/** One syntactic finding on a node (its range is the node's, as BuildKit's Location()). */
export interface NodeFinding {
  rule: RuleName;
  message: string;
}

/**
 * The checks BuildKit makes while it parses one instruction (instructions.ParseInstructionWithLinter):
 * MaintainerDeprecated, StageNameCasing, FromAsCasing. (InvalidDefinitionDescription needs the
 * comments, see src/checks/checks.ts.)
 */
export function instructionFindings(n: Instruction): NodeFinding[] {
  const out: NodeFinding[] = [];
  if (n.kind === 'MAINTAINER') out.push({ rule: 'MaintainerDeprecated', message: MESSAGES.MaintainerDeprecated() });
  if (n.kind === 'FROM' && n.args.length >= 3) {
    // isLowerCaseStageName looks at exactly three args; doesFromCaseMatchAsCase at three or more.
    const name = n.args[2]!.value;
    if (n.args.length === 3 && name !== goToLower(name)) out.push({ rule: 'StageNameCasing', message: MESSAGES.StageNameCasing(name) });
    const cmd = n.keyword;
    const as = n.args[1]!.value;
    const lower = cmd === goToLower(cmd);
    const upper = cmd === goToUpper(cmd);
    if ((lower && as !== goToLower(as)) || (!lower && upper && as !== goToUpper(as))) {
      out.push({ rule: 'FromAsCasing', message: MESSAGES.FromAsCasing(cmd, as) });
    }
  }
  return out;
}

/**
 * ConsistentInstructionCasing (validateCommandCasing): over the stage instructions (the ARGs
 * before the first FROM do not count), each keyword not in the majority's casing. Returns the
 * offending instructions with their message.
 */
export function casingFindings(ast: Dockerfile): { node: Instruction; message: string }[] {
  const first = ast.instructions.findIndex((n) => n.kind === 'FROM');
  if (first < 0) return [];
  const nodes = ast.instructions.slice(first);
  let lower = 0;
  let upper = 0;
  for (const n of nodes) {
    if (isSelfConsistentCasing(n.keyword)) {
      if (goToLower(n.keyword) === n.keyword) lower++;
      else upper++;
    }
  }
  const majorityLower = lower > upper;
  const out: { node: Instruction; message: string }[] = [];
  for (const n of nodes) {
    let want = '';
    if (majorityLower && goToLower(n.keyword) !== n.keyword) want = 'lowercase';
    else if (!majorityLower && goToUpper(n.keyword) !== n.keyword) want = 'uppercase';
    if (want) out.push({ node: n, message: MESSAGES.ConsistentInstructionCasing(n.keyword, want) });
  }
  return out;
}

/**
 * Appends the unfiltered syntactic warnings for `ast` to `out` (the parser's ParseResult.warnings):
 * ConsistentInstructionCasing, MaintainerDeprecated, StageNameCasing, FromAsCasing,
 * JSONArgsRecommended (shell-form CMD/ENTRYPOINT, whatever SHELL says) and LegacyKeyValueFormat.
 */
export function runChecks(ast: Dockerfile, out: ParseWarning[]): void {
  for (const c of casingFindings(ast)) out.push({ rule: 'ConsistentInstructionCasing', message: c.message, range: c.node.keywordRange });
  for (const n of ast.instructions) {
    for (const f of instructionFindings(n)) out.push({ rule: f.rule, message: f.message, range: n.range });
    if ((n.kind === 'CMD' || n.kind === 'ENTRYPOINT') && !n.json) out.push({ rule: 'JSONArgsRecommended', message: MESSAGES.JSONArgsRecommended(n.kind), range: n.range });
    if ((n.kind === 'ENV' || n.kind === 'LABEL') && n.pairs.some((p) => p.sep === '')) out.push({ rule: 'LegacyKeyValueFormat', message: MESSAGES.LegacyKeyValueFormat(n.kind), range: n.range });
  }
}
