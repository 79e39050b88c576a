#!/usr/bin/env node
// mic: the command line of mic-fs.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { serveCommand } from './serve.js';
import { projectCommand } from './project.js';
import { sessionCommand } from './session.js';
import { historyCommands } from './history.js';
import { gcCommand } from './gc.js';
import { exportGitCommand, importGitCommand } from './git.js';
import { fsckCommand } from './fsck.js';
import { grantCommand, tokenCommand, userCommand } from './identity.js';
import { auditCommand } from './audit.js';
import { artifactCommand } from './artifact.js';
import { mountCommands } from './mount.js';
import { doctorCommand } from './doctor.js';
import { completionCommand } from './completion.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

// Everything mic writes (objects, journals, file contents, the handle secret) is its owner's
// alone, whatever the umask it was started with: files 0600, directories 0700 (issue 8 item 18).
process.umask(0o077);

const program = new Command('mic')
  .description('mic-fs: copy-on-write NFS sessions over a content-addressed project store')
  .version(pkg.version, '-V, --version')
  .option('--data-dir <dir>', 'data directory (env MIC_DATA_DIR, default ~/.mic)')
  .option('--s3-bucket <bucket>', 'keep objects in this S3 bucket (env MIC_S3_BUCKET); default: the data directory')
  .option('--s3-endpoint <url>', 'S3 endpoint, path-style (env AWS_ENDPOINT_URL)')
  .option('--s3-prefix <prefix>', 'key prefix inside the bucket (env MIC_S3_PREFIX)');

// The store is chosen from the environment (src/store/open-backend.ts); the flags set it.
program.hook('preAction', () => {
  const o = program.opts();
  if (o.s3Bucket) process.env.MIC_S3_BUCKET = o.s3Bucket;
  if (o.s3Endpoint) process.env.AWS_ENDPOINT_URL = o.s3Endpoint;
  if (o.s3Prefix) process.env.MIC_S3_PREFIX = o.s3Prefix;
});

program.addCommand(serveCommand());
program.addCommand(projectCommand().addCommand(importGitCommand()).addCommand(exportGitCommand()));
program.addCommand(sessionCommand());
for (const c of historyCommands()) program.addCommand(c);
program.addCommand(gcCommand());
program.addCommand(fsckCommand());
for (const c of [userCommand(), tokenCommand(), grantCommand(), auditCommand(), artifactCommand()]) program.addCommand(c);
for (const c of mountCommands()) program.addCommand(c);
program.addCommand(doctorCommand());
program.addCommand(completionCommand(program));

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`mic: ${e.message}\n`);
  process.exit(1);
});
