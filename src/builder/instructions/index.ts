/** The dispatch table: one handler per instruction (a missing one is a compile error). */
import type { HandlerTable } from './handler.js';
import { addHandler } from './add.js';
import { argHandler } from './arg.js';
import { cmdHandler } from './cmd.js';
import { copyHandler } from './copy.js';
import { entrypointHandler } from './entrypoint.js';
import { envHandler } from './env.js';
import { exposeHandler } from './expose.js';
import { healthcheckHandler } from './healthcheck.js';
import { labelHandler } from './label.js';
import { maintainerHandler } from './maintainer.js';
import { onbuildHandler } from './onbuild.js';
import { runHandler } from './run.js';
import { shellHandler } from './shell.js';
import { stopsignalHandler } from './stopsignal.js';
import { userHandler } from './user.js';
import { volumeHandler } from './volume.js';
import { workdirHandler } from './workdir.js';

export const HANDLERS: HandlerTable = {
  ADD: addHandler,
  ARG: argHandler,
  CMD: cmdHandler,
  COPY: copyHandler,
  ENTRYPOINT: entrypointHandler,
  ENV: envHandler,
  EXPOSE: exposeHandler,
  HEALTHCHECK: healthcheckHandler,
  LABEL: labelHandler,
  MAINTAINER: maintainerHandler,
  ONBUILD: onbuildHandler,
  RUN: runHandler,
  SHELL: shellHandler,
  STOPSIGNAL: stopsignalHandler,
  USER: userHandler,
  VOLUME: volumeHandler,
  WORKDIR: workdirHandler,
};
