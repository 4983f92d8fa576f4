/**
 * BuildKit's heredoc tests (frontend/dockerfile/dockerfile_heredoc_test.go) as cases: COPY and
 * RUN heredocs, quoting, <<- indentation, shebangs, several heredocs and fds, ONBUILD.
 */
import { runCases, type Case } from './harness.js';

const cases: Case[] = [
  {
    name: 'testCopyHeredoc',
    what: 'COPY <<EOF single and double files, with --chmod and --chown',
    // The fixture's busybox has no adduser: the user is appended to /etc/passwd as adduser -D would;
    // upstream's RUN stat checks read as modes and owners of the exported files.
    dockerfile: `FROM busybox AS build
RUN echo 'user:x:1000:1000::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1000:' >> /etc/group
WORKDIR /dest
COPY <<EOF single
single file
EOF
COPY <<EOF <<EOF2 double/
first file
EOF
second file
EOF2
COPY --chmod=777 <<EOF /dest/permfiles/all
dummy content
EOF
COPY --chmod=0644 <<EOF /dest/permfiles/rw
dummy content
EOF
COPY --chown=user:user <<EOF /dest/permfiles/owned
dummy content
EOF
FROM scratch
COPY --from=build /dest /
`,
    files: {
      single: 'single file\n',
      'double/EOF': 'first file\n',
      'double/EOF2': 'second file\n',
      'permfiles/all': { mode: 0o777 },
      'permfiles/rw': { mode: 0o644 },
      'permfiles/owned': { uid: 1000, gid: 1000 },
    },
  },
  {
    name: 'testCopyHeredocSpecialSymbols',
    what: '<<EOF interprets backslash escapes, <<"EOF" keeps them',
    dockerfile: `FROM scratch
COPY <<EOF quotefile
"quotes in file"
EOF
COPY <<EOF slashfile1
\\
EOF
COPY <<EOF slashfile2
\\\\
EOF
COPY <<EOF slashfile3
\\$
EOF
COPY <<"EOF" rawslashfile1
\\
EOF
COPY <<"EOF" rawslashfile2
\\\\
EOF
COPY <<"EOF" rawslashfile3
\\$
EOF
`,
    files: {
      quotefile: '"quotes in file"\n',
      slashfile1: '\n',
      slashfile2: '\\\n',
      slashfile3: '$\n',
      rawslashfile1: '\\\n',
      rawslashfile2: '\\\\\n',
      rawslashfile3: '\\$\n',
    },
  },
  {
    name: 'testRunBasicHeredoc',
    dockerfile: 'FROM busybox AS build\nRUN <<EOF\necho "i am" >> /dest\nwhoami >> /dest\nEOF\nFROM scratch\nCOPY --from=build /dest /dest\n',
    files: { dest: 'i am\nroot\n' },
  },
  {
    name: 'testRunFakeHeredoc',
    what: 'SHELL ["/bin/awk"] runs the heredoc body under awk',
    dockerfile: 'FROM busybox AS build\nSHELL ["/bin/awk"]\nRUN <<EOF\nBEGIN {\n\tprint "foo" > "/dest"\n}\nEOF\nFROM scratch\nCOPY --from=build /dest /dest\n',
    files: { dest: 'foo\n' },
  },
  {
    name: 'testRunShebangHeredoc',
    what: 'a #! body runs under its interpreter; <<- strips tabs first',
    dockerfile: `FROM busybox AS build
WORKDIR /dest
RUN <<EOF
#!/bin/awk -f
BEGIN {
\tprint "hello" >> "./out1"
\tprint "world" >> "./out1"
}
EOF
RUN <<-EOF
\t#!/bin/awk -f
\tBEGIN {
\t\tprint "hello" >> "./out2"
\t\tprint "world" >> "./out2"
\t}
EOF
FROM scratch
COPY --from=build /dest /
`,
    files: { out1: 'hello\nworld\n', out2: 'hello\nworld\n' },
  },
  {
    name: 'testRunComplexHeredoc',
    what: 'heredocs piped, continued across lines, and on fds 3 and 4',
    dockerfile: `FROM busybox AS build
WORKDIR /dest
RUN cat <<EOF1 | tr '[:upper:]' '[:lower:]' > ./out1; \\
\tcat <<EOF2 | tr '[:lower:]' '[:upper:]' > ./out2
hello WORLD
EOF1
HELLO world
EOF2
RUN <<EOF 3<<IN1 4<<IN2 awk -f -
BEGIN {
\twhile ((getline line < "/proc/self/fd/3") > 0)
\t\tprint tolower(line) > "./fd3"
\twhile ((getline line < "/proc/self/fd/4") > 0)
\t\tprint toupper(line) > "./fd4"
}
EOF
hello WORLD
IN1
HELLO world
IN2
FROM scratch
COPY --from=build /dest /
`,
    files: { out1: 'hello world\n', out2: 'HELLO WORLD\n', fd3: 'hello world\n', fd4: 'HELLO WORLD\n' },
  },
  {
    name: 'testHeredocIndent',
    what: '<<EOF keeps leading tabs, <<-EOF strips them, in COPY and RUN (plain, shebang, redirected)',
    dockerfile: `FROM busybox AS build
COPY <<EOF /dest/foo-copy
\tfoo
EOF
COPY <<-EOF /dest/bar-copy
\tbar
EOF
RUN <<EOF
echo "
\tfoo" > /dest/foo-run
EOF
RUN <<-EOF
echo "
\tbar" > /dest/bar-run
EOF
RUN <<EOF
#!/bin/sh
echo "
\tfoo" > /dest/foo2-run
EOF
RUN <<-EOF
#!/bin/sh
echo "
\tbar" > /dest/bar2-run
EOF
RUN <<EOF sh > /dest/foo3-run
echo "
\tfoo"
EOF
RUN <<-EOF sh > /dest/bar3-run
echo "
\tbar"
EOF
FROM scratch
COPY --from=build /dest /
`,
    files: {
      'foo-copy': '\tfoo\n',
      'foo-run': '\n\tfoo\n',
      'foo2-run': '\n\tfoo\n',
      'foo3-run': '\n\tfoo\n',
      'bar-copy': 'bar\n',
      'bar-run': '\nbar\n',
      'bar2-run': '\nbar\n',
      'bar3-run': '\nbar\n',
    },
  },
  {
    name: 'testHeredocVarSubstitution',
    what: 'ARGs expand in <<EOF, not in <<\'EOF\' or <<"EOF"; RUN bodies see shell variables',
    dockerfile: `FROM busybox as build
ARG name=world
COPY <<EOF /dest/c1
Hello \${name}!
EOF
COPY <<'EOF' /dest/c2
Hello \${name}!
EOF
COPY <<"EOF" /dest/c3
Hello \${name}!
EOF
COPY <<EOF /dest/q1
Hello '\${name}'!
EOF
COPY <<EOF /dest/q2
Hello "\${name}"!
EOF
COPY <<'EOF' /dest/qsingle1
Hello '\${name}'!
EOF
COPY <<'EOF' /dest/qsingle2
Hello "\${name}"!
EOF
COPY <<"EOF" /dest/qdouble1
Hello '\${name}'!
EOF
COPY <<"EOF" /dest/qdouble2
Hello "\${name}"!
EOF
RUN <<EOF
greeting="Hello"
echo "\${greeting} \${name}!" > /dest/r1
EOF
RUN <<EOF
name="new world"
echo "Hello \${name}!" > /dest/r2
EOF
FROM scratch
COPY --from=build /dest /
`,
    files: {
      c1: 'Hello world!\n',
      c2: 'Hello ${name}!\n',
      c3: 'Hello ${name}!\n',
      q1: "Hello 'world'!\n",
      q2: 'Hello "world"!\n',
      qsingle1: "Hello '${name}'!\n",
      qsingle2: 'Hello "${name}"!\n',
      qdouble1: "Hello '${name}'!\n",
      qdouble2: 'Hello "${name}"!\n',
      r1: 'Hello world!\n',
      r2: 'Hello new world!\n',
    },
  },
  {
    name: 'testOnBuildHeredoc',
    what: 'an ONBUILD RUN <<EOF trigger runs in the child build (handed over by the local store, not a registry)',
    dockerfile: 'FROM busybox\nONBUILD RUN <<EOF\necho "hello world" >> /dest\nEOF\n',
    opts: { tags: ['bk-onbuild-heredoc:base'] },
    builds: [
      {
        dockerfile: 'FROM bk-onbuild-heredoc:base AS base\nFROM scratch\nCOPY --from=base /dest /dest\n',
        opts: { tags: [] },
        files: { dest: 'hello world\n' },
      },
    ],
  },
];

runCases('buildkit: heredocs (dockerfile_heredoc_test.go)', cases);
