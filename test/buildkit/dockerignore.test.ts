/**
 * BuildKit's .dockerignore tests (frontend/dockerfile/dockerfile_dockerignore_test.go) as cases.
 */
import { runCases, type Case } from './harness.js';

const cases: Case[] = [
  {
    name: 'testDockerignore',
    what: 'patterns, a ! exception, and the Dockerfile and .dockerignore themselves excluded',
    dockerfile: 'FROM scratch\nCOPY . .\n',
    context: { foo: 'foo-contents', bar: 'bar-contents', baz: 'baz-contents', bay: 'bay-contents', '.dockerignore': '\nba*\nDockerfile\n!bay\n.dockerignore\n' },
    files: { foo: 'foo-contents', '.dockerignore': null, Dockerfile: null, bar: null, baz: null, bay: 'bay-contents' },
  },
  {
    name: 'testDockerignoreInvalid',
    what: 'a lone "!" pattern fails the build (and does not hang)',
    dockerfile: 'FROM scratch\nCOPY . .\n',
    context: { '.dockerignore': '!\n' },
    // upstream asserts only that it fails (in time); mybuild: illegal exclusion pattern: "!" in .dockerignore
    error: /\.dockerignore/,
  },
  {
    name: 'testDockerignoreOverride',
    what: '<Dockerfile>.dockerignore beside the Dockerfile is used instead of .dockerignore',
    dockerfile: 'FROM busybox\nCOPY . .\nRUN [ -f foo ] && [ ! -f bar ]\n',
    context: {
      'Dockerfile.dockerignore': '\nbar\n',
      Dockerfile2: 'FROM busybox\nCOPY . .\nRUN [ ! -f foo ] && [ -f bar ]\n',
      'Dockerfile2.dockerignore': '\nfoo\n',
      foo: 'contents0',
      bar: 'contents0',
    },
    builds: [{ dockerfile: '', dockerfileName: 'Dockerfile2' }],
  },
];

runCases('buildkit: .dockerignore (dockerfile_dockerignore_test.go)', cases);
