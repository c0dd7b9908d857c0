// index.ts — the wlvs command line: parses the subcommand and hands over. Each subcommand lives
// in its own file; this one only dispatches and turns errors into messages and exit codes.
import { WlvsError, asWlvsError } from '../errors.js';
import { HELP, USAGE, version } from './help.js';

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd && Object.hasOwn(HELP, cmd) && (rest.includes('--help') || rest.includes('-h'))) {
      console.log(HELP[cmd]);
      return;
    }
    switch (cmd) {
      case 'run': {
        const { runCommand } = await import('./run.js');
        return await runCommand(rest);
      }
      case 'check': {
        if (rest.length !== 1) throw new WlvsError('WLVS_ERR_USAGE', HELP.check.split('\n')[0]);
        const { checkCommand } = await import('./check.js');
        return checkCommand(rest);
      }
      case '--version': case '-V': case 'version':
        console.log(version());
        return;
      case 'lab': {
        const { labCommand } = await import('./lab.js');
        return await labCommand(rest);
      }
      case 'realserver': {
        const { realserverCommand } = await import('./realserver.js');
        return await realserverCommand(rest);
      }
      case 'status': case 'conns': case 'add': case 'edit': case 'del': case 'drain': case 'reload': case 'hot-swap': {
        const { adminCommand } = await import('./admin.js');
        return await adminCommand(cmd, rest);
      }
      case 'drain-director': {
        const { drainDirectorCommand } = await import('./cluster.js');
        return await drainDirectorCommand(rest);
      }
      case 'import': {
        const { importCommand } = await import('./import.js');
        return await importCommand(rest);
      }
      case 'help': {
        if (rest[0] && !Object.hasOwn(HELP, rest[0])) throw new WlvsError('WLVS_ERR_USAGE', `no command ${JSON.stringify(rest[0])}\n${USAGE}`);
        console.log(rest[0] ? HELP[rest[0]] : USAGE);
        return;
      }
      case undefined: case '--help': case '-h':
        console.log(USAGE);
        return;
      default:
        throw new WlvsError('WLVS_ERR_USAGE', `unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    }
  } catch (err) {
    const e = asWlvsError(err);
    console.error(`wlvs: ${e.message}`);
    process.exitCode = e.code === 'WLVS_ERR_USAGE' ? 2 : 1;
  }
}
