// index.ts — the wlvs command line: parses the subcommand and hands over. Each subcommand lives
// in its own file; this one only dispatches and turns errors into messages and exit codes.
import { WlvsError, asWlvsError } from '../errors.js';

const USAGE = `usage: wlvs <command> [options]

  run CONFIG                 run the director in the foreground (JSON logs; "ready" line when up)
  lab demo                   build a namespace lab, run wlvs on a built-in config, show traffic, tear down
  lab failover               two directors in a lab: kill the master mid-download, watch the backup take over
  realserver --mode dr|tun --vip ADDR
                             prepare this host as a real server (DR: VIP on lo; TUN: decapsulate)
  status [--stats|--rate] [--json]       services and real servers (like ipvsadm -Ln)
  conns [--service S] [--json]           sessions (like ipvsadm -Lnc)
  add service|real-server ...            add at runtime (see --help of each)
  edit service|real-server ...           change at runtime
  del service|real-server ...            remove at runtime
  drain SERVICE ADDR:PORT                weight 0: no new connections, existing ones continue
  reload                                 re-read the configuration file (also SIGHUP)
  hot-swap CORE.wasm                     replace the WASM data path between two batches, sessions kept
  import ipvsadm|keepalived FILE         translate an ipvsadm -S -n dump or keepalived.conf to wlvs YAML

admin commands talk to the admin API: --api http://127.0.0.1:9180 (or WLVS_API), --token-file F (or WLVS_TOKEN_FILE)`;

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run': {
        if (!rest[0]) throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs run CONFIG');
        const { runCommand } = await import('./run.js');
        return await runCommand(rest[0]);
      }
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
      case 'import': {
        const { importCommand } = await import('./import.js');
        return await importCommand(rest);
      }
      case undefined: case 'help': case '--help': case '-h':
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
