// mic doctor: what is wrong with this machine's mic-fs setup, and how to fix it (checks in doctor-checks.ts).
import { Command } from 'commander';
import { runningDaemon } from './backend.js';
import { dataDirOf, out, printJson } from './common.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check the data directory, secret, S3 configuration, ports and NFS client, and say what to fix')
    .option('--host <addr>', 'server address to check (env MIC_HOST; default: the local daemon, else 127.0.0.1)')
    .option('--port <n>', "NFS/MOUNT port to check (default: the local daemon's, else MIC_PORT or 2049)")
    .option('--ports-only', 'only check that NFS and MOUNT answer (a container healthcheck)')
    .option('--json', 'print the checks as JSON')
    .action(async (o, c: Command) => {
      // the checks (RPC client, store, NFS constants) load only when doctor runs
      const { checkClient, checkDataDir, checkPorts, checkS3 } = await import('./doctor-checks.js');
      const dir = dataDirOf(c);
      const d = runningDaemon(dir);
      const host = o.host ?? process.env.MIC_HOST ?? (d && d.bind !== '0.0.0.0' && d.bind !== '::' ? d.bind : '127.0.0.1');
      const port = Number(o.port ?? d?.port ?? process.env.MIC_PORT ?? 2049);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port: not a port number: ${o.port}`);
      const ports = await checkPorts(host, port, !!d && !o.port && !o.host);
      const checks = o.portsOnly
        ? ports.filter((x) => x.name !== 'portmapper')
        : [...checkDataDir(dir), ...(await checkS3(dir)), ...ports, checkClient()];
      if (o.json) printJson({ ok: !checks.some((x) => x.status === 'fail'), checks });
      else {
        for (const x of checks) {
          out(`${x.status === 'ok' ? 'ok  ' : x.status === 'warn' ? 'warn' : 'FAIL'}  ${x.name}: ${x.detail}`);
          if (x.fix && x.status !== 'ok') out(`      fix: ${x.fix}`);
        }
        const failed = checks.filter((x) => x.status === 'fail').length;
        out(failed ? `${failed} problem(s) to fix` : 'no problems found');
      }
      if (checks.some((x) => x.status === 'fail')) process.exitCode = 1;
    });
}
