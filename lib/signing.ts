import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { C2CError } from './errors';

/**
 * SSH signatures, the mechanism git uses for signed commits: `ssh-keygen -Y sign -n NAMESPACE` with a person's key,
 * `ssh-keygen -Y verify` against an OpenSSH allowed-signers file kept in the repository. A namespace binds a signature
 * to one kind of statement, so a signed plan can never pass as a signed approval.
 */
export const NAMESPACES = {
  plan: 'c2c-plan@commit-to-cloud',
  approval: 'c2c-approval@commit-to-cloud',
  breakGlass: 'c2c-break-glass@commit-to-cloud',
  /** A record of the audit log, signed by whoever wrote it. */
  audit: 'c2c-audit@commit-to-cloud',
} as const;
export type SignatureNamespace = (typeof NAMESPACES)[keyof typeof NAMESPACES];

/** The prefix of a group principal: `ana@x,group:lighting-leads@x ssh-ed25519 …` makes ana's key a member. */
export const GROUP_PREFIX = 'group:';

/** One key line of an allowed-signers file. */
export interface AllowedSigner {
  /** The person this key belongs to (the one principal that is not a `group:`). */
  readonly principal: string;
  /** `group:…` principals listed on the same line: the groups this key is a member of. */
  readonly groups: readonly string[];
  readonly keyType: string;
  /** `SHA256:…`, as ssh-keygen prints it. */
  readonly fingerprint: string;
  readonly line: number;
}

/** A parsed allowed-signers file. */
export interface AllowedSigners {
  readonly path: string;
  readonly signers: readonly AllowedSigner[];
  /** SHA-256 of the file's text: a verification holds for exactly this content. */
  readonly digest: string;
}

/** Who a signature verifiably comes from. */
export interface VerifiedSigner {
  readonly principal: string;
  readonly fingerprint: string;
  readonly groups: readonly string[];
}

const ADD_KEY_HINT = (path: string) =>
  `add the person's public key as a line '<email> <key type> <key>' to ${path} (e.g. echo "you@example.com $(cat ~/.ssh/id_ed25519.pub)" >> ${path}) through a reviewed change`;

/** Principals are plain ASCII: a homoglyph of an approver's name can never pass as that approver. */
const PRINCIPAL = /^[\x21-\x7e]+$/;

/**
 * Reads an OpenSSH allowed-signers file (`principals [options] keytype base64 [comment]`). Each key line must name
 * exactly one person (plus any `group:` principals); wildcard and non-ASCII principals are refused, because the gate's
 * identity is the principal and must be one exact name.
 * @throws C2CError GATE_NO_ALLOWED_SIGNERS (missing or unreadable file), GATE_BAD_ALLOWED_SIGNERS (a line the gate cannot use)
 */
export async function loadAllowedSigners(path: string): Promise<AllowedSigners> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new C2CError(
      'GATE_NO_ALLOWED_SIGNERS',
      `the allowed-signers file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        hint: `it lists who may sign plans and approvals; set C2C_ALLOWED_SIGNERS to its path, or ${ADD_KEY_HINT(path)}`,
        cause: err,
      },
    );
  }
  const signers: AllowedSigner[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bad = (why: string) =>
      new C2CError('GATE_BAD_ALLOWED_SIGNERS', `${path} line ${i + 1}: ${why}`, {
        hint: "each line is '<email>[,group:<name>…] [options] <key type> <base64 key> [comment]'",
      });
    const tokens = tokenize(line);
    const keyAt = tokens.findIndex((t, j) => j > 0 && isKeyType(t));
    if (keyAt < 0 || keyAt + 1 >= tokens.length) throw bad('no public key');
    const names = tokens[0].split(',');
    const people = names.filter((p) => !p.startsWith(GROUP_PREFIX));
    if (names.some((p) => !PRINCIPAL.test(p) || /[*?!]/.test(p))) throw bad(`principals must be exact ASCII names (got '${tokens[0]}')`);
    if (people.length !== 1) throw bad(`a key must belong to exactly one person (got '${tokens[0]}')`);
    let fingerprint: string;
    try {
      fingerprint = keyFingerprint(tokens[keyAt + 1]);
    } catch {
      throw bad('the key is not valid base64');
    }
    signers.push({
      principal: people[0],
      groups: names.filter((p) => p.startsWith(GROUP_PREFIX)),
      keyType: tokens[keyAt],
      fingerprint,
      line: i + 1,
    });
  });
  const byKey = new Map<string, AllowedSigner>();
  for (const s of signers) {
    const other = byKey.get(s.fingerprint);
    if (other && other.principal !== s.principal) {
      throw new C2CError(
        'GATE_BAD_ALLOWED_SIGNERS',
        `${path} lines ${other.line} and ${s.line}: one key is listed for two people (${other.principal}, ${s.principal})`,
        { hint: 'each person signs with their own key' },
      );
    }
    byKey.set(s.fingerprint, s);
  }
  return { path: resolve(path), signers, digest: createHash('sha256').update(text).digest('hex') };
}

function isKeyType(t: string): boolean {
  return /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)?$/.test(t);
}

/** Splits on spaces outside double quotes (options such as `namespaces="a,b"` may hold spaces). */
function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** `SHA256:<base64, no padding>` of a public key blob, as `ssh-keygen -l` prints it. */
export function keyFingerprint(blobBase64: string): string {
  const blob = Buffer.from(blobBase64, 'base64');
  if (blob.length < 8 || blob.toString('base64').replace(/=+$/, '') !== blobBase64.replace(/=+$/, '')) throw new Error('not base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The public key inside an armored SSH signature (the SSHSIG blob: magic, version, public key, namespace, ...), so the
 * signer's line in the allowed-signers file can be found before verifying.
 */
export function signatureKeyFingerprint(armored: string): { fingerprint: string; namespace: string } {
  const m = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) throw new Error('not an armored SSH signature');
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  if (blob.subarray(0, 6).toString('latin1') !== 'SSHSIG') throw new Error('not an SSHSIG blob');
  let at = 10; // magic (6) + version (4)
  const next = (): Buffer => {
    const len = blob.readUInt32BE(at);
    const part = blob.subarray(at + 4, at + 4 + len);
    if (part.length !== len) throw new Error('truncated SSH signature');
    at += 4 + len;
    return part;
  };
  const key = next();
  const namespace = next().toString('utf8');
  return { fingerprint: `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`, namespace };
}

/** Runs ssh-keygen with `input` on stdin; resolves with stdout, stderr and the exit code (never rejects on exit != 0). */
function sshKeygen(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = execFile('ssh-keygen', args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        fail(
          new C2CError('GATE_NO_SSH_KEYGEN', `could not run ssh-keygen: ${error.message}`, {
            hint: 'install OpenSSH 8.2 or newer (ssh-keygen -Y sign/verify)',
          }),
        );
        return;
      }
      done({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/**
 * Signs `message` with the private key at `keyPath` (or a `.pub` whose private half is in ssh-agent), as
 * `ssh-keygen -Y sign -f KEY -n NAMESPACE` does; returns the armored signature.
 * @throws C2CError GATE_SIGNING_FAILED naming the key file
 */
export async function signMessage(keyPath: string, namespace: SignatureNamespace, message: string): Promise<string> {
  const r = await sshKeygen(['-Y', 'sign', '-f', keyPath, '-n', namespace], message);
  if (r.code !== 0 || !r.stdout.includes('BEGIN SSH SIGNATURE')) {
    const why = r.stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Signing data')) ?? `exit ${r.code}`;
    throw new C2CError('GATE_SIGNING_FAILED', `could not sign with the key ${keyPath}: ${why.trim()}`, {
      hint: 'pass --key PATH (or set DEPLOY_SIGNING_KEY) to an SSH private key without a passphrase, or to a .pub whose key is in ssh-agent',
    });
  }
  return r.stdout;
}

/**
 * Verifies a signature over `message` against the allowed signers and returns the verified signer: the person whose
 * key made it and the groups that key is listed in. Anything else is a refusal saying which key or file is missing.
 * @throws C2CError GATE_BAD_SIGNATURE
 */
export async function verifySignature(
  signers: AllowedSigners,
  namespace: SignatureNamespace,
  message: string,
  signature: string | undefined,
  what: string,
): Promise<VerifiedSigner> {
  if (!signature) {
    throw new C2CError('GATE_BAD_SIGNATURE', `${what} is not signed`, {
      hint: "sign with a key listed in the allowed-signers file: pass --key PATH or set DEPLOY_SIGNING_KEY (or git's user.signingkey)",
    });
  }
  let parsed: { fingerprint: string; namespace: string };
  try {
    parsed = signatureKeyFingerprint(signature);
  } catch (err) {
    throw new C2CError('GATE_BAD_SIGNATURE', `${what} carries a signature that does not parse (${(err as Error).message})`);
  }
  const signer = signers.signers.find((s) => s.fingerprint === parsed.fingerprint);
  if (!signer) {
    throw new C2CError('GATE_BAD_SIGNATURE', `${what} is signed with key ${parsed.fingerprint}, which is not in ${signers.path}`, {
      hint: ADD_KEY_HINT(signers.path),
    });
  }
  // ssh-keygen is a process per call; a signature that verified against this exact file content verifies again.
  const cacheKey = createHash('sha256').update([signers.path, signers.digest, namespace, message, signature].join('\0')).digest('hex');
  const hit = verified.get(cacheKey);
  if (hit) return hit;
  const dir = await mkdtemp(join(tmpdir(), 'c2c-sig-'));
  try {
    const sigFile = join(dir, 'message.sig');
    await writeFile(sigFile, signature);
    const r = await sshKeygen(['-Y', 'verify', '-f', signers.path, '-I', signer.principal, '-n', namespace, '-s', sigFile], message);
    if (r.code !== 0) {
      throw new C2CError(
        'GATE_BAD_SIGNATURE',
        `${what}: the signature by ${signer.principal} (key ${parsed.fingerprint}) does not verify${parsed.namespace !== namespace ? ` (it was made for '${parsed.namespace}', not '${namespace}')` : ': the signed content was changed'}`,
        { hint: 'sign again; a signature covers one exact statement' },
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const result = { principal: signer.principal, fingerprint: signer.fingerprint, groups: signer.groups };
  verified.set(cacheKey, result);
  return result;
}

/** Signatures that verified in this process, by (file, content, namespace, message, signature). */
const verified = new Map<string, VerifiedSigner>();

/** The person a key file belongs to, from the allowed signers (by the key's fingerprint). */
export async function principalOfKey(signers: AllowedSigners, keyPath: string): Promise<AllowedSigner> {
  const pub = await readPublicKey(keyPath);
  const fingerprint = keyFingerprint(pub);
  const signer = signers.signers.find((s) => s.fingerprint === fingerprint);
  if (!signer) {
    throw new C2CError('GATE_BAD_SIGNATURE', `the key ${keyPath} (${fingerprint}) is not in ${signers.path}`, {
      hint: ADD_KEY_HINT(signers.path),
    });
  }
  return signer;
}

async function readPublicKey(keyPath: string): Promise<string> {
  const pubPath = keyPath.endsWith('.pub') ? keyPath : `${keyPath}.pub`;
  try {
    const text = await readFile(pubPath, 'utf8');
    const b64 = text.trim().split(/\s+/)[1];
    if (b64) return b64;
  } catch {
    // No .pub next to the key: derive it from the private key.
  }
  try {
    await stat(keyPath);
  } catch {
    throw new C2CError('GATE_NO_SIGNING_KEY', `the signing key ${keyPath} does not exist`, {
      hint: 'create one with: ssh-keygen -t ed25519 -f ~/.ssh/c2c_deploy -C you@example.com, then pass --key or set DEPLOY_SIGNING_KEY',
    });
  }
  const r = await sshKeygen(['-y', '-f', keyPath], '');
  const b64 = r.stdout.trim().split(/\s+/)[1];
  if (r.code !== 0 || !b64) {
    throw new C2CError('GATE_SIGNING_FAILED', `could not read the public half of ${keyPath}`, {
      hint: 'keep the .pub file next to the key',
    });
  }
  return b64;
}

/**
 * The signing key to use: `--key`, else `DEPLOY_SIGNING_KEY`, else git's `user.signingkey` (a path, or a
 * `key::ssh-…` literal whose private half is in ssh-agent). Undefined when none is set.
 */
export async function findSigningKey(input: {
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}): Promise<string | undefined> {
  const expand = (p: string) => resolve(input.cwd ?? '.', p.replace(/^~(?=\/|$)/, homedir()));
  if (input.flag) return expand(input.flag);
  if (input.env.DEPLOY_SIGNING_KEY) return expand(input.env.DEPLOY_SIGNING_KEY);
  let fromGit = '';
  try {
    fromGit = execFileSync('git', ['config', 'user.signingkey'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
      ...(input.cwd ? { cwd: input.cwd } : {}),
    }).trim();
  } catch {
    return undefined;
  }
  if (fromGit === '') return undefined;
  if (fromGit.startsWith('key::')) {
    // A public key literal (its private half in ssh-agent): one file per key, named by its hash, reused.
    const literal = fromGit.slice(5).trim();
    const pub = join(tmpdir(), `c2c-signing-${createHash('sha256').update(literal).digest('hex').slice(0, 16)}.pub`);
    await writeFile(pub, `${literal}\n`);
    return pub;
  }
  return expand(fromGit);
}

/** The message of a signed statement: one line of canonical JSON (keys sorted), so signer and verifier agree. */
export function statement(fields: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(fields)
    .filter((k) => fields[k] !== undefined)
    .sort();
  return `${JSON.stringify(Object.fromEntries(keys.map((k) => [k, fields[k]])))}\n`;
}
