import { Command } from 'commander';
import { C2CError } from '../../../lib/errors';
import { googleAuthFromEnv } from '../../../lib/google/http';
import {
  DEFAULT_REMIND_AFTER_MINUTES,
  DEFAULT_REMIND_EVERY_MINUTES,
  noticeText,
  parseRemindMinutes,
  remindWaitingBuilds,
} from '../../../lib/notify';
import { CliContext, EXIT } from '../context';

interface RemindOptions {
  after?: string;
  every?: string;
  project?: string;
  location?: string;
  dryRun?: boolean;
  json?: boolean;
}

export const REMIND_HELP = `
A production build is reminded when its wait for approval crosses after + k * every minutes (k = 0, 1, ...) within
the current slot of 'every' minutes counted from 00:00 UTC: once per scheduled run (the c2c-remind trigger runs it
every C2C_REMIND_EVERY_MINUTES), with no record kept. A run by hand between two scheduled ones posts again; look
first with --dry-run.

Exit codes:
  0  done (also when nothing waits or nothing is due)
  1  the builds could not be listed (Cloud Build API, credentials), or a reminder could not be posted
  2  bad usage or bad input (a flag, a setting, no webhook); nothing was listed or posted

Environment:
  C2C_NOTIFY_WEBHOOK         the chat webhook (Slack or Google Chat incoming webhook URL), never printed
  C2C_REMIND_AFTER_MINUTES   default of --after (30); C2C_REMIND_EVERY_MINUTES   default of --every (15)
  C2C_BUILD_PROJECT (or PROJECT_ID), C2C_BUILD_LOCATION (or LOCATION)   defaults of --project and --location
  GOOGLE_OAUTH_ACCESS_TOKEN  a token (gcloud auth print-access-token); else the metadata server's (in Cloud Build)`;

/**
 * `deploy remind`: posts a reminder to the chat for each production build that still waits for approval after
 * `--after` minutes, once per `--every` minutes (the reminder job's schedule).
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('remind')
    .description('remind the reviewers of production builds that still wait for approval (posts to C2C_NOTIFY_WEBHOOK)')
    .option(
      '--after <minutes>',
      `remind once a build has waited this long (default: C2C_REMIND_AFTER_MINUTES, else ${DEFAULT_REMIND_AFTER_MINUTES})`,
    )
    .option(
      '--every <minutes>',
      `how often the job runs, and so how often a build is reminded again (default: C2C_REMIND_EVERY_MINUTES, else ${DEFAULT_REMIND_EVERY_MINUTES})`,
    )
    .option('--project <id>', 'Google Cloud project of the production builds (default: C2C_BUILD_PROJECT, else PROJECT_ID)')
    .option('--location <region>', 'region of the production triggers (default: C2C_BUILD_LOCATION, else LOCATION)')
    .option('--dry-run', 'print the reminders that are due, post nothing')
    .option('--json', 'print what was found and sent as JSON')
    .addHelpText('after', REMIND_HELP)
    .action(ctx.action((opts: RemindOptions) => run(ctx, opts)));
}

async function run(ctx: CliContext, opts: RemindOptions): Promise<number> {
  const env = ctx.env;
  const afterMinutes = minutes(opts.after, '--after', env.C2C_REMIND_AFTER_MINUTES, 'C2C_REMIND_AFTER_MINUTES', 'after');
  const everyMinutes = minutes(opts.every, '--every', env.C2C_REMIND_EVERY_MINUTES, 'C2C_REMIND_EVERY_MINUTES', 'every');
  const project = name(opts.project ?? env.C2C_BUILD_PROJECT ?? env.PROJECT_ID, '--project', /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'acme-prod');
  const location = name(opts.location ?? env.C2C_BUILD_LOCATION ?? env.LOCATION, '--location', /^[a-z][a-z0-9-]{1,62}$/, 'europe-west1');
  const webhook = env.C2C_NOTIFY_WEBHOOK || undefined;
  if (!opts.dryRun && !webhook) {
    throw new C2CError('USAGE', 'no C2C_NOTIFY_WEBHOOK is set: there is nowhere to post the reminders', {
      hint: 'set C2C_NOTIFY_WEBHOOK to a Slack or Google Chat incoming webhook URL, or look with --dry-run',
    });
  }
  const catalog = ctx.catalog();
  const known = new Set(catalog.names());
  const result = await remindWaitingBuilds({
    project,
    location,
    auth: googleAuthFromEnv(env),
    baseUrl: ctx.cloudBuildBaseUrl,
    webhook: opts.dryRun ? undefined : webhook,
    afterMinutes,
    everyMinutes,
    reviewersOf: (service) => (known.has(service) ? catalog.get(service).approvers : undefined),
  });
  const failed = result.reminders.filter((r) => r.error !== undefined);
  if (opts.json) {
    ctx.json({
      project,
      location,
      afterMinutes,
      everyMinutes,
      dryRun: Boolean(opts.dryRun),
      waiting: result.waiting,
      reminders: result.reminders.map((r) => ({
        buildId: r.buildId,
        service: r.service,
        waitingMinutes: r.waitingMinutes,
        sent: r.sent,
        ...(r.error ? { error: r.error } : {}),
        text: noticeText(r.notice),
      })),
    });
  } else {
    for (const r of result.reminders) {
      if (opts.dryRun) {
        ctx.out(`would remind: ${r.service} (build ${r.buildId}, waiting ${r.waitingMinutes} min):`);
        ctx.out(noticeText(r.notice).replace(/^/gm, '  '));
      } else if (r.sent) {
        ctx.out(`reminded: ${r.service} (build ${r.buildId}, waiting ${r.waitingMinutes} min)`);
      }
    }
  }
  for (const r of failed) ctx.err(`deploy: ${r.error} (build ${r.buildId})`);
  const due = result.reminders.length;
  ctx.err(
    `${result.waiting} production build(s) wait for approval in ${project}/${location}; ${due} due for a reminder ` +
      `(after ${afterMinutes} min, every ${everyMinutes} min)` +
      (opts.dryRun ? '; dry run: nothing posted' : `; ${due - failed.length} posted`),
  );
  if (failed.length > 0) {
    ctx.err('hint: check C2C_NOTIFY_WEBHOOK (the URL is not printed); the next run reminds again');
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** `--after`/`--every` from the flag, else the setting, else the default; errors name where the value came from. */
function minutes(
  flag: string | undefined,
  flagName: string,
  setting: string | undefined,
  settingName: string,
  kind: 'after' | 'every',
): number {
  if (flag !== undefined) return parseRemindMinutes(flag, flagName, kind);
  if (setting !== undefined && setting !== '') return parseRemindMinutes(setting, settingName, kind);
  return kind === 'after' ? DEFAULT_REMIND_AFTER_MINUTES : DEFAULT_REMIND_EVERY_MINUTES;
}

function name(value: string | undefined, flag: string, pattern: RegExp, example: string): string {
  if (value === undefined || value === '') {
    throw new C2CError('USAGE', `${flag} is required (no default in the environment)`, { hint: `e.g. ${flag} ${example}` });
  }
  if (!pattern.test(value)) {
    throw new C2CError('USAGE', `${flag} '${value}' is not a valid ${flag.slice(2)}`, { hint: `e.g. ${flag} ${example}` });
  }
  return value;
}
