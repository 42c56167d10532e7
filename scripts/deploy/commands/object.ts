import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { C2CError } from '../../../lib/errors';
import { googleAuthFromEnv } from '../../../lib/google/http';
import { createObject, formatObjectUrl, getObject, parseObjectUrl } from '../../../lib/google/storage';
import { CliContext } from '../context';
import { withExitHelp } from '../options';

/**
 * `deploy object get|put`: the build steps' only Cloud Storage client (plans down and up), through the one Google
 * HTTP helper with the metadata server's token, so deploy steps need no Cloud SDK image. `C2C_STORAGE_URL` points it
 * at another endpoint (tests).
 */
export function register(program: Command, ctx: CliContext): void {
  const object = withExitHelp(program.command('object')).description('read or create a Cloud Storage object (the build steps use it)');
  const options = () => ({ auth: googleAuthFromEnv(ctx.env), ...(ctx.env.C2C_STORAGE_URL ? { baseUrl: ctx.env.C2C_STORAGE_URL } : {}) });
  object
    .command('get <url> <file>')
    .description('download gs://BUCKET/OBJECT[#GENERATION] to FILE')
    .option('--sha256 <hex>', 'refuse (exit 1, nothing written) unless the bytes have this SHA-256')
    .action(
      ctx.action(async (url: string, file: string, opts: { sha256?: string }) => {
        if (opts.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(opts.sha256)) {
          throw new C2CError('USAGE', `--sha256 '${opts.sha256}' is not 64 hex digits`);
        }
        const ref = parseObjectUrl(url);
        writeFileSync(file, await getObject(ref, { ...options(), sha256: opts.sha256 }));
        ctx.err(`read ${formatObjectUrl(ref)} -> ${file}`);
      }),
    );
  object
    .command('put <file> <url>')
    .description(
      "create gs://BUCKET/OBJECT from FILE; refuses to replace an existing object. In the URL '{id}' is the JSON file's id, '{sha256}' the file's SHA-256",
    )
    .action(
      ctx.action(async (file: string, url: string) => {
        const bytes = readFileSync(file);
        let name = url.replace('{sha256}', () => createHash('sha256').update(bytes).digest('hex'));
        if (url.includes('{id}')) {
          const id = (JSON.parse(bytes.toString('utf8')) as { id?: unknown }).id;
          if (typeof id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(id))
            throw new C2CError('USAGE', `${file} has no usable "id" for {id} in ${url}`);
          name = name.replace('{id}', id);
        }
        const ref = parseObjectUrl(name);
        const created = await createObject(ref, bytes, {
          ...options(),
          contentType: file.endsWith('.json') ? 'application/json' : file.endsWith('.html') ? 'text/html; charset=utf-8' : undefined,
        });
        ctx.out(formatObjectUrl(created));
      }),
    );
}
