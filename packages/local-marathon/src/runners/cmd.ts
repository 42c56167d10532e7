/** `cmd` (or `args`) without a container image: `sh -c cmd` in the sandbox, as Mesos' command executor does. */
import { Launcher } from './types';

export const cmdLauncher: Launcher = {
  kind: 'cmd',
  async command({ image, cmd, args }) {
    if (image) return undefined;
    return cmd ? { file: '/bin/sh', argv: ['-c', cmd] } : { file: args[0], argv: args.slice(1) };
  },
};
