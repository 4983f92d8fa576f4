// BuildKit's build checks: the cases of moby/buildkit frontend/dockerfile/dockerfile_check_test.go
// (each Dockerfile with its expected rules, messages and lines), in both of BuildKit's modes: a
// build (only the stages the target needs) and --call=check (every stage). Then the directive,
// the per-instruction comments, BUILDKIT_DOCKERFILE_CHECK, the report text, targets and outline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/parser/index.js';
import { RULES, parseCheckOptions, type RuleName } from '../../src/parser/checks.js';
import { checkConfig, checkDirective, docComment, formatCheckReport, instructionComments, runChecks, shortWarning, sourceExcerpt, type CheckOptions, type ImageFacts } from '../../src/checks/checks.js';
import { evaluateCall, formatOutline, formatTargets, listTargets, outline, outlineJSON, parseCallFlag, tabwrite, targetsJSON } from '../../src/checks/outline.js';
import { BuildError } from '../../src/errors.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Base images as a registry would describe them (Env, platform). */
const IMAGES: Record<string, ImageFacts> = {
  alpine: { os: 'linux', architecture: 'amd64', config: { Env: [PATH_ENV] } },
  busybox: { os: 'linux', architecture: 'amd64', config: { Env: [PATH_ENV] } },
  'busybox:latest': { os: 'linux', architecture: 'amd64', config: { Env: [PATH_ENV] } },
  'busybox:stable-musl': { os: 'linux', architecture: 'amd64', config: { Env: [PATH_ENV] } },
  'example.com/arm64-only': { os: 'linux', architecture: 'arm64', config: { Env: [PATH_ENV] } },
};
const resolveImage = async (ref: string): Promise<ImageFacts | undefined> => IMAGES[ref];

type Expected = [rule: RuleName, line: number, message: string];

interface Case {
  name: string;
  dockerfile: string;
  /** Warnings of a build (BuildKit's warntype=progress). */
  warnings?: Expected[];
  /** Warnings of --call=check when they differ (BuildKit's UnmarshalWarnings). */
  checkWarnings?: Expected[];
  /** The error both modes end with (substring). */
  error?: string;
  buildArgs?: Record<string, string>;
  ignore?: string[];
}

async function run(c: Case, mode: 'build' | 'check', extra: Partial<CheckOptions> = {}) {
  const { ast, warnings } = parseDockerfile(c.dockerfile);
  return runChecks(ast, {
    text: c.dockerfile,
    mode,
    platform: amd64,
    buildPlatform: amd64,
    parseWarnings: warnings,
    resolveImage,
    ...(c.buildArgs ? { buildArgs: c.buildArgs } : {}),
    ...(c.ignore ? { ignorePatterns: c.ignore } : {}),
    ...extra,
  });
}

function sortExpected(ws: Expected[]): Expected[] {
  return [...ws].sort((a, b) => a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0));
}

const CASES: Case[] = [
  // testRuleCheckOption
  { name: 'skip=all', dockerfile: '#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n' },
  { name: 'skip=all;error=true', dockerfile: '#check=skip=all;error=true\nFROM scratch as base\ncopy Dockerfile .\n' },
  { name: 'skip two rules', dockerfile: '#check=skip=ConsistentInstructionCasing,FromAsCasing\nFROM scratch as base\ncopy Dockerfile .\n' },
  { name: 'skip two rules;error=true', dockerfile: '#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n' },
  {
    name: 'skip one rule',
    dockerfile: '#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n',
    warnings: [['FromAsCasing', 2, "'as' and 'FROM' keywords' casing do not match"]],
  },
  {
    name: 'skip one rule;error=true fails',
    dockerfile: '#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n',
    warnings: [['FromAsCasing', 2, "'as' and 'FROM' keywords' casing do not match"]],
    error: 'lint violation found for rules: FromAsCasing',
  },
  {
    name: 'BUILDKIT_DOCKERFILE_CHECK overrides the directive',
    dockerfile: '#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n',
    buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=ConsistentInstructionCasing;error=true' },
    warnings: [['FromAsCasing', 2, "'as' and 'FROM' keywords' casing do not match"]],
    error: 'lint violation found for rules: FromAsCasing',
  },
  {
    name: 'BUILDKIT_DOCKERFILE_CHECK=skip=all over error=true',
    dockerfile: '#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n',
    buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' },
  },
  // testStageName
  {
    name: 'stage name casing and from/as casing',
    dockerfile: "\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n# warning: 'as' should match 'FROM' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n",
    warnings: [
      ['StageNameCasing', 4, "Stage name 'BadStageName' should be lowercase"],
      ['FromAsCasing', 8, "'as' and 'FROM' keywords' casing do not match"],
    ],
  },
  {
    name: 'AS with lower-case from',
    dockerfile: "\n# warning: 'AS' should match 'from' cmd casing.\n#\nfrom scratch AS base\n\nfrom scratch as base2\n",
    warnings: [['FromAsCasing', 4, "'AS' and 'from' keywords' casing do not match"]],
  },
  // testNoEmptyContinuation
  {
    name: 'empty continuation line',
    dockerfile: '\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n',
    warnings: [['NoEmptyContinuation', 6, 'Empty continuation line']],
  },
  // testConsistentInstructionCasing
  {
    name: 'From is neither case',
    dockerfile: "\n# warning: 'FROM' should be either lowercased or uppercased\n#\nFrom scratch as base\nFROM scratch AS base2\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'From' should match the case of the command majority (uppercase)"]],
  },
  {
    name: 'copy against upper-case majority',
    dockerfile: "\nFROM scratch\n# warning: 'copy' should match command majority's casing (uppercase)\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'copy' should match the case of the command majority (uppercase)"]],
  },
  {
    name: 'frOM against lower-case majority',
    dockerfile: "\n# warning: 'frOM' should be either lowercased or uppercased\n#\nfrOM scratch as base\nfrom scratch as base2\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'frOM' should match the case of the command majority (lowercase)"]],
  },
  {
    name: 'COPY against lower-case majority',
    dockerfile: "\nfrom scratch\n# warning: 'COPY' should match command majority's casing (lowercase)\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'COPY' should match the case of the command majority (lowercase)"]],
  },
  {
    name: 'from against upper-case majority',
    dockerfile: "\n# warning: 'from' should match command majority's casing (uppercase)\n#\nfrom scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'from' should match the case of the command majority (uppercase)"]],
  },
  {
    name: 'FROM against lower-case majority',
    dockerfile: "\n# warning: 'FROM' should match command majority's casing (lowercase)\n#\nFROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n",
    warnings: [['ConsistentInstructionCasing', 4, "Command 'FROM' should match the case of the command majority (lowercase)"]],
  },
  { name: 'all lower case', dockerfile: '\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n' },
  { name: 'all upper case', dockerfile: '\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n' },
  { name: 'heredoc body is not an instruction', dockerfile: "\nFROM alpine\nRUN <<'EOT'\nenv\nEOT\n" },
  // testDuplicateStageName
  {
    name: 'duplicate stage name',
    dockerfile: '\nFROM scratch AS b\nFROM scratch AS b\n',
    warnings: [['DuplicateStageName', 3, 'Duplicate stage name "b", stage names should be unique']],
    // The planner refuses duplicate names (BuildKit lets the later stage win).
    error: 'duplicate stage name "b"',
  },
  { name: 'distinct stage names', dockerfile: '\nFROM scratch AS b1\nFROM scratch AS b2\n' },
  // testReservedStageName
  {
    name: 'reserved stage names',
    dockerfile: '\nFROM scratch AS scratch\nFROM scratch AS context\n',
    warnings: [
      ['ReservedStageName', 2, 'Stage name should not use the same name as reserved stage "scratch"'],
      ['ReservedStageName', 3, 'Stage name should not use the same name as reserved stage "context"'],
    ],
  },
  { name: 'reserved name as base only', dockerfile: '\nFROM scratch\nFROM scratch AS a\n' },
  // testJSONArgsRecommended
  { name: 'shell-form CMD', dockerfile: '\nFROM scratch\nCMD mycommand\n', warnings: [['JSONArgsRecommended', 3, 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals']] },
  { name: 'shell-form ENTRYPOINT', dockerfile: '\nFROM scratch\nENTRYPOINT mycommand\n', warnings: [['JSONArgsRecommended', 3, 'JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals']] },
  { name: 'CMD after SHELL', dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n' },
  { name: 'ENTRYPOINT after SHELL', dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n' },
  { name: 'CMD after the base stage SHELL', dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n' },
  { name: 'ENTRYPOINT after the base stage SHELL', dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nENTRYPOINT mycommand\n' },
  // testMaintainerDeprecated
  { name: 'MAINTAINER', dockerfile: '\nFROM scratch\nMAINTAINER me@example.org\n', warnings: [['MaintainerDeprecated', 3, 'Maintainer instruction is deprecated in favor of using label']] },
  { name: 'authors label', dockerfile: '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n' },
  { name: 'comment skips JSONArgsRecommended for CMD', dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n' },
  { name: 'comment skips JSONArgsRecommended for ENTRYPOINT', dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n' },
  { name: 'comment skips MaintainerDeprecated', dockerfile: '\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n' },
  // testWarningsBeforeError
  {
    name: 'warnings before an error',
    dockerfile: '\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n',
    warnings: [
      ['StageNameCasing', 2, "Stage name 'BadStageName' should be lowercase"],
      ['MaintainerDeprecated', 3, 'Maintainer instruction is deprecated in favor of using label'],
    ],
    error: 'unknown instruction: BADCMD',
  },
  // testUndeclaredArg
  { name: 'declared ARG in FROM', dockerfile: '\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n' },
  { name: 'redeclared BUILDPLATFORM', dockerfile: '\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n' },
  { name: 'predefined BUILDPLATFORM', dockerfile: '\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n' },
  { name: 'ARG without value', dockerfile: '\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n' },
  { name: 'ARG with :- default', dockerfile: '\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n' },
  { name: 'ARG set empty with - default', dockerfile: '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n' },
  {
    name: 'misspelled BUILDPLATFORM',
    dockerfile: '\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n',
    warnings: [['UndefinedArgInFrom', 2, "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"]],
    error: 'empty platform value from expression $BULIDPLATFORM (did you mean BUILDPLATFORM?)',
  },
  {
    name: 'undeclared arg in a FROM image',
    dockerfile: '\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n',
    warnings: [['UndefinedArgInFrom', 3, "FROM argument 'version' is not declared"]],
  },
  // testWorkdirRelativePath
  { name: 'relative WORKDIR', dockerfile: '\nFROM scratch\nWORKDIR app/\n', warnings: [['WorkdirRelativePath', 3, 'Relative workdir "app/" can have unexpected results if the base image changes']] },
  { name: 'relative WORKDIR after an absolute one in the base stage', dockerfile: '\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n' },
  { name: 'comment skips WorkdirRelativePath', dockerfile: '\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n' },
  // testUnmatchedVars
  { name: 'ARG without value used', dockerfile: '\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n' },
  { name: 'ARG from the base stage', dockerfile: '\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n' },
  { name: 'RUN is not expanded', dockerfile: '\nFROM alpine\nRUN echo $PATH\n' },
  {
    name: 'variable used before its ARG',
    dockerfile: '\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n',
    warnings: [['UndefinedVar', 3, "Usage of undefined variable '$foo'"]],
  },
  {
    name: 'misspelled ARG',
    dockerfile: '\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t',
    warnings: [['UndefinedVar', 6, "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)"]],
  },
  {
    name: 'misspelled PATH from the image',
    dockerfile: '\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n\t\t',
    warnings: [['UndefinedVar', 3, "Usage of undefined variable '$PAHT' (did you mean $PATH?)"]],
  },
  // testAllTargetUnmarshal
  {
    name: 'unreachable stages are checked by --check only',
    dockerfile: '\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n',
    warnings: [['UndefinedVar', 6, "Usage of undefined variable '$bar'"]],
    checkWarnings: [
      ['UndefinedVar', 3, "Usage of undefined variable '$foo'"],
      ['UndefinedVar', 6, "Usage of undefined variable '$bar'"],
    ],
  },
  // testMultipleInstructionsDisallowed
  {
    name: 'repeated ENTRYPOINT, CMD, HEALTHCHECK',
    dockerfile: '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
    warnings: [
      ['MultipleInstructionsDisallowed', 3, 'Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used'],
      ['MultipleInstructionsDisallowed', 5, 'Multiple CMD instructions should not be used in the same stage because only the last one will be used'],
      ['MultipleInstructionsDisallowed', 7, 'Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used'],
    ],
  },
  {
    name: 'repeated with a heredoc COPY between',
    dockerfile: '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\nCOPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
    warnings: [
      ['MultipleInstructionsDisallowed', 3, 'Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used'],
      ['MultipleInstructionsDisallowed', 4, 'Multiple CMD instructions should not be used in the same stage because only the last one will be used'],
      ['MultipleInstructionsDisallowed', 5, 'Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used'],
    ],
  },
  { name: 'one of each per stage', dockerfile: '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n\nFROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n' },
  // testLegacyKeyValueFormat
  {
    name: 'legacy ENV and LABEL',
    dockerfile: '\nFROM scratch\nENV testkey value\nLABEL key value\n',
    warnings: [
      ['LegacyKeyValueFormat', 3, '"ENV key=value" should be used instead of legacy "ENV key value" format'],
      ['LegacyKeyValueFormat', 4, '"LABEL key=value" should be used instead of legacy "LABEL key value" format'],
    ],
  },
  { name: 'key=value ENV and LABEL', dockerfile: '\nFROM scratch\nENV testkey=value\nLABEL key=value\n' },
  {
    name: 'legacy format in an unreachable stage',
    dockerfile: '\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n',
    checkWarnings: [
      ['LegacyKeyValueFormat', 5, '"ENV key=value" should be used instead of legacy "ENV key value" format'],
      ['LegacyKeyValueFormat', 6, '"LABEL key=value" should be used instead of legacy "LABEL key value" format'],
    ],
  },
  { name: 'comments skip LegacyKeyValueFormat', dockerfile: '\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n# check=skip=LegacyKeyValueFormat\nLABEL key value\n' },
  // testRedundantTargetPlatform
  {
    name: '$TARGETPLATFORM',
    dockerfile: '\nFROM --platform=$TARGETPLATFORM scratch\n',
    warnings: [['RedundantTargetPlatform', 2, 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior']],
  },
  {
    name: '${TARGETPLATFORM}',
    dockerfile: '\nFROM --platform=${TARGETPLATFORM} scratch\n',
    warnings: [['RedundantTargetPlatform', 2, 'Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior']],
  },
  { name: 'comment skips RedundantTargetPlatform', dockerfile: '\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n' },
  // testSecretsUsedInArgOrEnv
  {
    name: 'secrets in ARG and ENV',
    dockerfile:
      '# check=skip=InvalidDefinitionDescription\n\nFROM scratch\nARG SECRET_PASSPHRASE\nENV SUPER_Secret=foo\nENV password=bar secret=baz\nARG super_duper_secret_token=foo auth=bar\nENV apikey=bar sunflower=foo\nENV git_key=\nENV PUBLIC_KEY=\nARG public_token\nARG SECRET_PASSPHRASE_FILE\nENV password_file=bar secret_File=baz\nARG AUTH_MODULE_VERSION\n# check=skip=SecretsUsedInArgOrEnv // allow secret in environment\nENV password=bar\n# check=skip=SecretsUsedInArgOrEnv // allow secret in arg\nARG password\n# check=skip=all // is local to only this instruction\nENV alternate_password=bar\n# check=skip=all // is local to only this instruction\nARG alternate_password\n',
    warnings: [
      ['SecretsUsedInArgOrEnv', 4, 'Do not use ARG or ENV instructions for sensitive data (ARG "SECRET_PASSPHRASE")'],
      ['SecretsUsedInArgOrEnv', 5, 'Do not use ARG or ENV instructions for sensitive data (ENV "SUPER_Secret")'],
      ['SecretsUsedInArgOrEnv', 6, 'Do not use ARG or ENV instructions for sensitive data (ENV "password")'],
      ['SecretsUsedInArgOrEnv', 6, 'Do not use ARG or ENV instructions for sensitive data (ENV "secret")'],
      ['SecretsUsedInArgOrEnv', 7, 'Do not use ARG or ENV instructions for sensitive data (ARG "auth")'],
      ['SecretsUsedInArgOrEnv', 7, 'Do not use ARG or ENV instructions for sensitive data (ARG "super_duper_secret_token")'],
      ['SecretsUsedInArgOrEnv', 8, 'Do not use ARG or ENV instructions for sensitive data (ENV "apikey")'],
      ['SecretsUsedInArgOrEnv', 9, 'Do not use ARG or ENV instructions for sensitive data (ENV "git_key")'],
    ],
  },
  // testInvalidDefaultArgInFrom
  {
    name: 'ARG without default in a tag',
    dockerfile: '\nARG VERSION\nFROM busybox:$VERSION\n',
    buildArgs: { VERSION: 'latest' },
    warnings: [['InvalidDefaultArgInFrom', 3, 'Default value for ARG busybox:$VERSION results in empty or invalid base image name']],
  },
  {
    name: 'ARG without default as the image',
    dockerfile: '\nARG IMAGE\nFROM $IMAGE\n',
    buildArgs: { IMAGE: 'busybox:latest' },
    warnings: [['InvalidDefaultArgInFrom', 3, 'Default value for ARG $IMAGE results in empty or invalid base image name']],
  },
  {
    name: 'ARG default making an invalid name',
    dockerfile: '\nARG SFX="box:"\nFROM busy${SFX}\n',
    buildArgs: { SFX: 'box:latest' },
    warnings: [['InvalidDefaultArgInFrom', 3, 'Default value for ARG busy${SFX} results in empty or invalid base image name']],
  },
  { name: 'valid default tag', dockerfile: '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n', buildArgs: { VERSION: 'latest' } },
  { name: 'empty default suffix', dockerfile: '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n', buildArgs: { BUSYBOX_VARIANT: '-musl' } },
  { name: 'no default suffix', dockerfile: '\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t', buildArgs: { BUSYBOX_VARIANT: '-musl' } },
  // testFromPlatformFlagConstDisallowed
  {
    name: 'constant --platform',
    dockerfile: '\nFROM --platform=linux/amd64 scratch\n',
    warnings: [['FromPlatformFlagConstDisallowed', 2, 'FROM --platform flag should not use constant value "linux/amd64"']],
  },
  { name: 'constant --platform named after the arch', dockerfile: '\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n' },
  { name: 'constant --platform named after the os', dockerfile: '\nFROM --platform=linux/amd64 scratch AS linux\n' },
  // testCopyIgnoredFiles
  {
    name: 'COPY and ADD of an ignored file',
    dockerfile: '\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n',
    ignore: ['Dockerfile'],
    warnings: [
      ['CopyIgnoredFile', 3, 'Attempting to Copy file "Dockerfile" that is excluded by .dockerignore'],
      ['CopyIgnoredFile', 4, 'Attempting to Add file "Dockerfile" that is excluded by .dockerignore'],
    ],
  },
  { name: 'directive skips CopyIgnoredFile', dockerfile: '# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n', ignore: ['Dockerfile'] },
  { name: 'COPY --from is not the context', dockerfile: '\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\nFROM base\nCOPY --from=base /foobar /Dockerfile\n', ignore: ['foobar'] },
  { name: 'ignore file with exclusions', dockerfile: '\nFROM scratch\nCOPY ./Dockerfile .\n', ignore: ['**', '!Dockerfile'] },
  { name: 'copying the context dir with exclusions', dockerfile: '\nFROM scratch\nCOPY . .\n\t', ignore: ['**', '!Dockerfile'] },
  // testCopyIgnoredFileContextRoot
  { name: 'context root with dotfiles ignored', dockerfile: '\nFROM scratch\nCOPY . .\n', ignore: ['.*'] },
  { name: 'context root with everything ignored', dockerfile: '\nFROM scratch\nCOPY . .\n', ignore: ['*'], warnings: [['CopyIgnoredFile', 3, 'Attempting to Copy file "." that is excluded by .dockerignore']] },
  // testDefinitionDescription
  {
    name: 'good descriptions (experimental rule on)',
    dockerfile:
      '# check=skip=all;experimental=InvalidDefinitionDescription\n# foo this is the foo\nARG foo=bar\n\n# base this is the base image\nFROM scratch AS base\n\n# version this is the version number\nARG version=latest\n\n# baz this is the baz\nARG foo=baz bar=qux baz=quux\n#\nARG bit=bat\n\n# comment for something other than ARG or FROM\nCOPY Dockerfile .\n',
  },
  {
    name: 'bad descriptions',
    dockerfile: '# check=experimental=InvalidDefinitionDescription\n# bar this is the bar\nARG foo=bar\n# BasE this is the BasE image\nFROM scratch AS base\n# definitely a bad comment\nARG version=latest\n# definitely a bad comment\nARG foo=baz bar=qux baz=quux\n',
    warnings: [
      ['InvalidDefinitionDescription', 3, 'Comment for ARG should follow the format: `# foo <description>`'],
      ['InvalidDefinitionDescription', 5, 'Comment for FROM should follow the format: `# base <description>`'],
      ['InvalidDefinitionDescription', 7, 'Comment for ARG should follow the format: `# version <description>`'],
      ['InvalidDefinitionDescription', 9, 'Comment for ARG should follow the format: `# <arg_key> <description>`'],
    ],
  },
  { name: 'experimental rule off by default', dockerfile: '# bar this is the bar\nARG foo=bar\nFROM scratch\n' },
  // testExposeProtoCasing
  {
    name: 'upper-case EXPOSE protocols',
    dockerfile: '\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n',
    warnings: [
      ['ExposeProtoCasing', 3, "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase"],
      ['ExposeProtoCasing', 3, "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase"],
    ],
  },
  // testExposeInvalidFormat
  {
    name: 'EXPOSE with addresses and host ports',
    dockerfile: '\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n',
    warnings: [
      ['ExposeInvalidFormat', 3, "EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'"],
      ['ExposeInvalidFormat', 3, "EXPOSE instruction should not define an IP address or host-port mapping, found '5000:5000'"],
      ['ExposeInvalidFormat', 3, "EXPOSE instruction should not define an IP address or host-port mapping, found '[::1]:8080:8080'"],
    ],
  },
  // testBaseImagePlatformMismatch
  {
    name: 'base image of another platform',
    dockerfile: '\nFROM example.com/arm64-only\nENV foo=bar\n\t',
    warnings: [['InvalidBaseImagePlatform', 2, 'Base image example.com/arm64-only was pulled with platform "linux/arm64", expected "linux/amd64" for current build']],
  },
];

describe('build checks: BuildKit dockerfile_check_test.go cases', () => {
  for (const c of CASES) {
    for (const mode of ['build', 'check'] as const) {
      it(`${c.name} (${mode})`, async () => {
        const r = await run(c, mode);
        const want = sortExpected((mode === 'check' ? c.checkWarnings : undefined) ?? c.warnings ?? []);
        const got = sortExpected(r.warnings.map((w): Expected => [w.rule, w.range.start.line, w.message]));
        assert.deepEqual(got, want);
        for (const w of r.warnings) {
          assert.equal(w.description, RULES[w.rule].description);
          assert.equal(w.url, RULES[w.rule].url);
        }
        if (c.error) assert.ok(r.error?.message.includes(c.error), `error ${JSON.stringify(r.error?.message)} should contain ${JSON.stringify(c.error)}`);
        else assert.equal(r.error, undefined, r.error?.message);
      });
    }
  }
});

describe('build checks: rules and configuration', () => {
  it('has the 22 rules of BuildKit, each with its documentation link', () => {
    const names = Object.keys(RULES);
    assert.equal(names.length, 22);
    assert.equal(RULES.JSONArgsRecommended.url, 'https://docs.docker.com/go/dockerfile/rule/json-args-recommended/');
    assert.equal(RULES.FromPlatformFlagConstDisallowed.url, 'https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/');
    assert.equal(RULES.InvalidBaseImagePlatform.url, '');
    assert.deepEqual(names.filter((n) => RULES[n as RuleName].experimental), ['InvalidDefinitionDescription']);
  });

  it('parses check options as linter.ParseLintOptions', () => {
    const c = parseCheckOptions(' skip = A, B ; error = true ; experimental=all');
    assert.deepEqual([...c.skip], ['A', 'B']);
    assert.equal(c.error, true);
    assert.equal(c.experimentalAll, true);
    assert.equal(parseCheckOptions('skip=all').skipAll, true);
    assert.equal(parseCheckOptions('').error, false);
    assert.throws(() => parseCheckOptions('skip'), { message: 'invalid check option "skip"' });
    assert.throws(() => parseCheckOptions('frobnicate=1'), { message: 'invalid check option "frobnicate"' });
    assert.throws(() => parseCheckOptions('error=maybe'), { message: 'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax' });
  });

  it('checkDirective: the directive, or BUILDKIT_DOCKERFILE_CHECK instead of it', () => {
    const { ast } = parseDockerfile('# check=skip=StageNameCasing,FromAsCasing;error=true // why\nFROM scratch\n');
    assert.deepEqual(checkDirective(ast), { skip: ['StageNameCasing', 'FromAsCasing'], error: true, experimental: [] });
    assert.deepEqual(checkDirective(ast, { BUILDKIT_DOCKERFILE_CHECK: 'skip=all' }), { skip: 'all', error: false, experimental: [] });
    assert.deepEqual(checkDirective(parseDockerfile('FROM scratch\n').ast), { skip: [], error: false, experimental: [] });
  });

  it('a bad directive or build arg is a clear error (and the checks report it)', async () => {
    const text = '# check=skip=all;bogus=1\nFROM scratch\n';
    const { ast } = parseDockerfile(text);
    assert.throws(() => checkConfig(ast), (e: unknown) => e instanceof BuildError && e.message === 'failed to parse check options: invalid check option "bogus"' && e.source?.range.start.line === 1);
    assert.throws(() => checkConfig(ast, { BUILDKIT_DOCKERFILE_CHECK: 'error=yes' }), { message: /^failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: failed to parse check option "error=yes"/ });
    const r = await runChecks(ast, { text });
    assert.equal(r.error?.message, 'failed to parse check options: invalid check option "bogus"');
    assert.deepEqual(r.warnings, []);
  });

  it('a # check= comment applies to its instruction only', async () => {
    const text = 'FROM scratch\n# check=skip=JSONArgsRecommended\nCMD a\nENTRYPOINT b\n';
    const { ast } = parseDockerfile(text);
    const r = await runChecks(ast, { text });
    assert.deepEqual(r.warnings.map((w) => [w.rule, w.range.start.line]), [['JSONArgsRecommended', 4]]);
  });

  it('a comment cannot skip the file-wide rules (casing)', async () => {
    const text = 'FROM scratch\n# check=skip=ConsistentInstructionCasing\ncopy a b\n';
    const { ast } = parseDockerfile(text);
    const r = await runChecks(ast, { text });
    assert.deepEqual(r.warnings.map((w) => w.rule), ['ConsistentInstructionCasing']);
  });

  it('error=true turns the warnings of a build into its failure', async () => {
    const text = '# check=error=true\nFROM scratch AS Base\nCMD run\n';
    const { ast } = parseDockerfile(text);
    const r = await runChecks(ast, { text, mode: 'build' });
    assert.equal(r.violation, 'lint violation found for rules: StageNameCasing, JSONArgsRecommended');
    assert.deepEqual(r.warnings.map(shortWarning), ["StageNameCasing: Stage name 'Base' should be lowercase (line 2)", 'JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 3)']);
  });

  it('instruction comments as BuildKit keeps them: a bare # starts over, blank lines do not, directives are left out', () => {
    const text = '# check=skip=all\n# about a\nARG a\n# one\n\n# two\nFROM scratch\n# dropped\n#\n  # kept\nRUN x\n';
    const { ast } = parseDockerfile(text);
    assert.deepEqual(instructionComments(ast, text), [['about a'], ['one', 'two'], ['# kept']]);
    assert.equal(docComment(['one', 'a the a'], 'a'), 'the a');
  });

  it('UndefinedVar is not guessed on an image whose Env is unknown', async () => {
    const text = 'FROM golang\nENV PATH=$GOPATH/bin:$PATH\nCOPY $nope .\n';
    const { ast } = parseDockerfile(text);
    assert.deepEqual((await runChecks(ast, { text })).warnings, []);
    const known = await runChecks(ast, { text, resolveImage: async () => ({ config: { Env: ['GOPATH=/go', PATH_ENV] } }) });
    assert.deepEqual(known.warnings.map((w) => w.message), ["Usage of undefined variable '$nope'"]);
  });

  it('--target limits --check to the stages the target needs', async () => {
    const c = CASES.find((x) => x.name === 'unreachable stages are checked by --check only')!;
    const r = await run(c, 'check', { target: 'first' });
    assert.deepEqual(r.warnings.map((w) => w.range.start.line), [3]);
  });
});

describe('build checks: --check report', () => {
  it('prints each warning with its link and excerpt, and exits 1', async () => {
    const text = 'FROM scratch as base\nCOPY a b\nCMD run\n';
    const { ast } = parseDockerfile(text);
    const r = await runChecks(ast, { text });
    const out = formatCheckReport(r, text);
    assert.equal(out.exitCode, 1);
    assert.equal(out.stderr, '');
    assert.equal(
      out.stdout,
      [
        'Check complete, 2 warnings have been found!',
        '',
        'WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        "'as' and 'FROM' keywords' casing do not match",
        'Dockerfile:1',
        '--------------------',
        '   1 | >>> FROM scratch as base',
        '   2 |     COPY a b',
        '   3 |     CMD run',
        '--------------------',
        '',
        'WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/',
        'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
        'Dockerfile:3',
        '--------------------',
        '   1 |     FROM scratch as base',
        '   2 |     COPY a b',
        '   3 | >>> CMD run',
        '   4 |     ',
        '--------------------',
        '',
      ].join('\n'),
    );
  });

  it('no warnings: "Check complete, no warnings found." and exit 0', async () => {
    const text = 'FROM scratch\nCOPY a b\n';
    const { ast } = parseDockerfile(text);
    assert.deepEqual(formatCheckReport(await runChecks(ast, { text }), text), { stdout: 'Check complete, no warnings found.\n', stderr: '', exitCode: 0 });
  });

  it('an error follows the warnings, with its excerpt', async () => {
    const text = 'FROM scratch AS Bad\nBADCMD\n';
    const { ast } = parseDockerfile(text);
    const out = formatCheckReport(await runChecks(ast, { text }), text);
    assert.equal(out.exitCode, 1);
    assert.match(out.stdout, /^Check complete, 1 warning has been found!\n\nWARNING: StageNameCasing.*\n\n$/s);
    assert.match(out.stderr, /^ERROR: unknown instruction: BADCMD.*\nDockerfile:2\n-+\n {3}1 \| {5}FROM scratch AS Bad\n {3}2 \| >>> BADCMD\n/s);
  });

  it('ignorestatus keeps warnings from failing; format=json prints BuildKit\'s lint result', async () => {
    const text = 'FROM scratch\nCMD run\n';
    const { ast } = parseDockerfile(text);
    const r = await runChecks(ast, { text });
    assert.equal(formatCheckReport(r, text, { ignoreStatus: true }).exitCode, 0);
    const j = JSON.parse(formatCheckReport(r, text, { format: 'json' }).stdout);
    assert.deepEqual(j.warnings, [
      {
        ruleName: 'JSONArgsRecommended',
        description: RULES.JSONArgsRecommended.description,
        url: RULES.JSONArgsRecommended.url,
        detail: 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals',
        location: { ranges: [{ start: { line: 2 }, end: { line: 2 } }] },
      },
    ]);
    assert.equal(Buffer.from(j.sources[0].data, 'base64').toString(), text);
    assert.equal(j.buildError, undefined);
  });

  it('excerpt context follows errdefs Source.Print (2 lines around a multi-line range)', () => {
    const text = 'a\nb\nc\nd\ne\nf\ng\n';
    const r = { start: { line: 3, col: 1, offset: 4 }, end: { line: 4, col: 2, offset: 7 } };
    assert.equal(sourceExcerpt('Dockerfile', text, r), 'Dockerfile:3\n--------------------\n   2 |     b\n   3 | >>> c\n   4 | >>> d\n   5 |     e\n--------------------\n');
  });
});

describe('--call=targets and --call=outline', () => {
  const text = [
    'ARG GO_VERSION=1.22',
    '# BASE the base image',
    'ARG BASE=alpine',
    'FROM ${BASE} AS base',
    '',
    '# build compiles the binary',
    'FROM base AS build',
    '# TAGS build tags',
    'ARG TAGS="netgo osusergo"',
    'ARG NOVALUE',
    'RUN --mount=type=secret,id=token,required --mount=type=ssh echo',
    '',
    'FROM scratch',
    'COPY --from=build /out /',
    '',
  ].join('\n');

  it('lists the stages with their descriptions, the last as default', () => {
    const { ast } = parseDockerfile(text);
    const t = listTargets(ast, text);
    assert.deepEqual(t.map((x) => [x.name, x.description, x.default, x.base]), [
      ['base', '', false, '${BASE}'],
      ['build', 'compiles the binary', false, 'base'],
      ['', '', true, 'scratch'],
    ]);
    assert.equal(formatTargets(t), 'TARGET    DESCRIPTION\nbase      \nbuild     compiles the binary\n(default) \n');
  });

  it('outlines the args, secrets and ssh of the target', async () => {
    const { ast } = parseDockerfile(text);
    const o = await outline(ast, { text, target: 'build', buildArgs: { TAGS: 'x' } });
    assert.deepEqual(o.args.map((a) => [a.name, a.value, a.description]), [
      ['BASE', 'alpine', 'the base image'],
      ['TAGS', 'x', 'build tags'],
      ['NOVALUE', '', ''],
    ]);
    assert.deepEqual(o.secrets, [{ name: 'token', required: true, line: 11 }]);
    assert.deepEqual(o.ssh, [{ name: 'default', required: false, line: 11 }]);
    assert.equal(
      formatOutline(o),
      [
        'TARGET:      build',
        'DESCRIPTION: compiles the binary',
        '',
        'BUILD ARG   VALUE    DESCRIPTION',
        'BASE        alpine   the base image',
        'TAGS        x        build tags',
        'NOVALUE              ',
        '',
        'SECRET   REQUIRED',
        'token    true',
        '',
        'SSH       REQUIRED',
        'default   ',
        '',
        '',
      ].join('\n'),
    );
  });

  it('the default target has no name line unless it is named or described', async () => {
    const { ast } = parseDockerfile(text);
    const o = await outline(ast, { text });
    assert.equal(o.name, '');
    assert.match(formatOutline(o), /^BUILD ARG/);
  });

  it('JSON forms carry names, descriptions, defaults and lines', async () => {
    const { ast } = parseDockerfile(text);
    const t = JSON.parse(targetsJSON(listTargets(ast, text), text));
    assert.deepEqual(t.targets[1], { name: 'build', description: 'compiles the binary', base: 'base', location: { ranges: [{ start: { line: 7 }, end: { line: 7 } }] } });
    assert.equal(t.targets[2].default, true);
    const o = JSON.parse(outlineJSON(await outline(ast, { text, target: 'build' }), text));
    assert.equal(o.name, 'build');
    assert.deepEqual(o.secrets, [{ name: 'token', required: true, location: { ranges: [{ start: { line: 11 }, end: { line: 11 } }] } }]);
    assert.deepEqual(o.args[1], { name: 'TAGS', description: 'build tags', value: 'netgo osusergo', location: { ranges: [{ start: { line: 9 }, end: { line: 9 } }] } });
  });

  it('parses --call as buildx (check/lint, outline, targets, format, ignorestatus)', () => {
    assert.deepEqual(parseCallFlag('check'), { name: 'check', format: 'text', ignoreStatus: false });
    assert.deepEqual(parseCallFlag('lint,format=json,ignorestatus=1'), { name: 'check', format: 'json', ignoreStatus: true });
    assert.deepEqual(parseCallFlag('targets'), { name: 'targets', format: 'text', ignoreStatus: false });
    assert.equal(parseCallFlag('build').name, 'build');
    assert.throws(() => parseCallFlag('outline,targets'), { message: 'invalid print value: outline,targets' });
    assert.throws(() => parseCallFlag('check,color=1'), { message: 'invalid print field: color=1' });
    assert.throws(() => parseCallFlag('describe'), { message: 'unsupported --call method "describe"' });
  });

  it('evaluateCall runs check, targets and outline instead of a build', async () => {
    const check = await evaluateCall(parseCallFlag('check'), 'FROM scratch AS a\nCOPY $x .\nFROM scratch\n', { file: 'app.Dockerfile' });
    assert.equal(check.exitCode, 1);
    assert.match(check.stdout, /^Check complete, 1 warning has been found!\n\nWARNING: UndefinedVar - https:\/\/docs.docker.com\/go\/dockerfile\/rule\/undefined-var\/\nUsage of undefined variable '\$x'\napp.Dockerfile:2\n/);
    const broken = await evaluateCall(parseCallFlag('check'), 'FROM a\nRUN <<EOF\nx\n');
    assert.equal(broken.exitCode, 1);
    assert.match(broken.stderr, /^ERROR: unterminated heredoc\n/);
    assert.equal((await evaluateCall(parseCallFlag('targets'), text)).stdout, formatTargets(listTargets(parseDockerfile(text).ast, text)));
    const o = await evaluateCall(parseCallFlag('outline,format=json'), text, { target: 'build' });
    assert.equal(JSON.parse(o.stdout).name, 'build');
    await assert.rejects(evaluateCall(parseCallFlag('outline'), text, { target: 'nope' }), { message: 'target stage "nope" could not be found' });
  });

  it('tabwrite pads like Go text/tabwriter', () => {
    assert.equal(tabwrite([['a', 'bb', 'c'], ['ccc', '', 'd']], 3), 'a     bb   c\nccc        d\n');
  });
});
