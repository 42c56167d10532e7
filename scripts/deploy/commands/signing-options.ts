// Shared by plan, approve, apply, rollback and history: the signing key and the allowed-signers file, read once from
// flags and the environment the CLI was given.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { allowedSignersPath } from '../../../lib/gate/allowed-signers-path';
import { fetchPlatformSigners, parsePlatformSigners, PLATFORM_SIGNERS_ENV } from '../../../lib/gate/platform-signers';
import { googleAuthFromEnv } from '../../../lib/google/http';
import { AllowedSigners, findSigningKey, loadAllowedSigners, NAMESPACES, principalOfKey, signMessage } from '../../../lib/signing';
import { callerPath } from '../../cli-kit';
import { CliContext } from '../context';

/** `--key PATH` on a command that signs. */
export function keyOption(cmd: Command): Command {
  return cmd.option('--key <path>', "SSH key to sign with (default: DEPLOY_SIGNING_KEY, else git's user.signingkey)");
}

/** The signing key from `--key`, `DEPLOY_SIGNING_KEY` or git's `user.signingkey`; undefined when none is set. */
export function signingKey(ctx: CliContext, flag: string | undefined): Promise<string | undefined> {
  return findSigningKey({ flag: flag === undefined ? undefined : callerPath(ctx.env, flag), env: ctx.env });
}

/** The allowed signers (`C2C_ALLOWED_SIGNERS`, else the repository's `security/allowed_signers`). */
export function allowedSigners(ctx: CliContext): Promise<AllowedSigners> {
  return loadAllowedSigners(allowedSignersPath(ctx.env));
}

/** The allowed signers when the file exists (where they are optional, e.g. a plan made by a build). */
export async function allowedSignersIfAny(ctx: CliContext): Promise<AllowedSigners | undefined> {
  const path = allowedSignersPath(ctx.env);
  return existsSync(path) ? loadAllowedSigners(path) : undefined;
}

/**
 * The cloud path's list: the platform's (`C2C_PLATFORM_SIGNERS`, set by the platform's triggers), fetched at its pinned
 * generation from storage.googleapis.com and checked against the SHA-256 its name holds; undefined when the variable
 * is not set. Never the service repository's checkout, which the service's authors can edit.
 */
export async function platformSigners(ctx: CliContext): Promise<{ signers: AllowedSigners; name: string } | undefined> {
  const value = ctx.env[PLATFORM_SIGNERS_ENV];
  if (!value) return undefined;
  const ref = parsePlatformSigners(value);
  return {
    signers: await fetchPlatformSigners(ref, { auth: googleAuthFromEnv(ctx.env) }),
    name: `the platform's allowed signers (gs://${ref.bucket}/${ref.object})`,
  };
}

/** Who tried, for a refusal record: the key's listed principal when it has one, else the unverified local name. */
export async function whoTried(ctx: CliContext, keyPath: string | undefined): Promise<string> {
  if (keyPath) {
    try {
      return (await principalOfKey(await allowedSigners(ctx), keyPath)).principal;
    } catch {
      // Not a listed key: fall through to the unverified name.
    }
  }
  return `${ctx.actor()} (unverified)`;
}

/**
 * Makes every audit record this command writes signed by its writer, when the user has a signing key (`--key`,
 * `DEPLOY_SIGNING_KEY`, git's `user.signingkey`) listed in the allowed signers; otherwise records stay unsigned (and
 * `history --verify` counts them as such).
 */
export async function signAuditRecords(ctx: CliContext, flag: string | undefined): Promise<void> {
  const keyPath = await signingKey(ctx, flag);
  const signers = keyPath ? await allowedSignersIfAny(ctx) : undefined;
  if (!keyPath || !signers) return;
  let me;
  try {
    me = await principalOfKey(signers, keyPath);
  } catch {
    return; // Not a listed key: the gate says so where it matters; the records stay unsigned.
  }
  ctx.audit().signWith({ principal: me.principal, fingerprint: me.fingerprint, sign: (m) => signMessage(keyPath, NAMESPACES.audit, m) });
}
