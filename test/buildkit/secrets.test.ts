/**
 * BuildKit's secret mount tests (frontend/dockerfile/dockerfile_secrets_test.go) as cases. The
 * secret "mysecret" holds "pw" (upstream's secretsprovider.FromMap), given from an environment
 * variable of this process.
 */
import assert from 'node:assert/strict';
import type { SecretSpec } from '../../src/builder/options.js';
import { runCases, type Case } from './harness.js';

process.env.BK_TEST_MYSECRET = 'pw';
const secrets: SecretSpec[] = [{ id: 'mysecret', env: 'BK_TEST_MYSECRET' }];

const cases: Case[] = [
  {
    name: 'testSecretFileParams',
    what: 'mode, uid and gid of a secret file; no stub left behind',
    dockerfile: 'FROM busybox\nRUN --mount=type=secret,required=false,mode=741,uid=100,gid=102,target=/mysecret [ "$(stat -c "%u %g %f" /mysecret)" = "100 102 81e1" ]\nRUN [ ! -f /mysecret ] # check no stub left behind\n',
    opts: { secrets },
  },
  {
    name: 'testSecretRequiredWithoutValue',
    dockerfile: 'FROM busybox \n\t\tRUN --mount=type=secret,required,id=mysecret foo',
    // mybuild: secret mysecret not found
    error: /secret mysecret:? not found/,
  },
  {
    name: 'testSecretAsEnviron',
    what: 'env= gives the secret as a variable, not a file, and progress masks it',
    dockerfile: 'FROM busybox\nENV SECRET_ENV=foo\nRUN --mount=type=secret,id=mysecret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ ! -f /run/secrets/mysecret ] || false\n',
    opts: { secrets },
    check: (r) => {
      const names = r.build.events.flatMap((e) => (e.type === 'step-start' ? [e.info.instruction] : []));
      const run = names.find((n) => n.includes('/run/secrets/mysecret'));
      assert.ok(run, names.join('\n'));
      assert.ok(run.includes('[ "****" == "pw" ] && '), run);
    },
  },
  {
    name: 'testSecretAsEnvironWithFileMount',
    dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV [ "$SECRET_ENV" == "pw" ] && [ -f /run/secrets/secret ] || false\n',
    opts: { secrets },
  },
];

runCases('buildkit: secrets (dockerfile_secrets_test.go)', cases);
