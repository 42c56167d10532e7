/**
 * The Mesos fetcher, as a Mesos agent runs it before a task starts (Mesos' `src/launcher/fetcher.cpp` and
 * `src/slave/containerizer/fetcher.cpp`): each `fetch` entry of the app is downloaded into the task's sandbox, in
 * order; `executable` sets mode 0755 (and then nothing is extracted, as in Mesos), otherwise `extract` unpacks a
 * recognised archive into the sandbox root; `destPath` (Mesos' `output_file`) names the file; `cache` keeps one copy
 * per URI (and user) for the server's lifetime, shared by concurrent fetches. The fetcher's log goes to the sandbox's
 * `stderr`, as in Mesos; any failure fails the whole launch with Mesos' message.
 *
 * `http://`/`https://` are downloaded with Node's client (redirects followed, only 200 accepted, like libcurl there);
 * `file://` URIs and absolute paths are copied. Archives are unpacked with the system's `tar` (and `gzip`/`bzip2`/`xz`)
 * and `unzip`; `.gz` files with Node's zlib. A missing program fails the fetch and names the program.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, appendFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { get as httpGet, IncomingMessage, RequestOptions } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, delimiter, dirname, join, relative, isAbsolute } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isObject, JsonObject } from './json';

/** One entry of an app's `fetch` (Marathon's `FetchUri`, Mesos' `CommandInfo.URI`). */
export interface FetchUri {
  uri: string;
  extract: boolean;
  executable: boolean;
  cache: boolean;
  /** Mesos' `output_file`: the file name in the sandbox. @default - the URI's last path segment */
  destPath?: string;
}

/** The fetch entries of a (normalised) app definition; the old `uris` were turned into `fetch` entries on input. */
export function fetchUris(def: JsonObject): FetchUri[] {
  if (!Array.isArray(def.fetch)) return [];
  return def.fetch.filter(isObject).map((f) => ({
    uri: String(f.uri),
    extract: f.extract !== false,
    executable: f.executable === true,
    cache: f.cache === true,
    ...(typeof f.destPath === 'string' ? { destPath: f.destPath } : {}),
  }));
}

/**
 * One entry of the fetcher's connection table, as curl's `--connect-to HOST:PORT:ADDR:PORT2`: a download from
 * `http(s)://HOST:PORT/...` connects to `ADDR:PORT2` instead, and changes nothing else (the request's `Host` header,
 * the TLS server name, the URI in the log and in the app are still `HOST:PORT`). It stands in for what an agent's
 * network gives it: the cluster's DNS (and a load balancer's service port) for names this machine does not resolve.
 */
export interface FetcherConnectTo {
  /** The URI's host name (matched without case). */
  host: string;
  /** The URI's port (80 or 443 when the URI has none). */
  port: number;
  /** Where to connect instead. */
  to: { host: string; port: number };
}

/** Options of {@link Fetcher}. */
export interface FetcherOptions {
  /** Where cached downloads go (Mesos' `--fetcher_cache_dir`). */
  cacheDir: string;
  /** `PATH` to find `tar`, `gzip`, `bzip2`, `xz` and `unzip` on. */
  path: string;
  /** A download that receives nothing for this long fails (Mesos' `--fetcher_stall_timeout`). @default 60000 */
  stallTimeoutMs?: number;
  /** Connections to other addresses than the URIs' hosts ({@link FetcherConnectTo}). @default [] (none) */
  connectTo?: readonly FetcherConnectTo[];
}

/** What one task's fetch needs. */
export interface FetchRequest {
  /** Shown in the failure message, as Mesos shows its container id. */
  containerId: string;
  uris: FetchUri[];
  sandbox: string;
  /** The app's `user`: cache entries are kept per user, as in Mesos. */
  user?: string;
  /** Aborts the downloads and extractions (the task was killed, or the server is closing). */
  signal?: AbortSignal;
}

/** A failed fetch: the message is what the task's `TASK_FAILED` status and the app's `lastTaskFailure` show. */
export class FetchError extends Error {
  constructor(
    message: string,
    /** The fetcher's own error, as it wrote it to the sandbox's stderr. */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

interface CacheEntry {
  filename: string;
  /** Settles when the download into the cache has finished (or failed). */
  done: Promise<void>;
}

const TAR_EXTENSIONS: [string, string | undefined][] = [
  ['.tar', undefined],
  ['.tgz', 'gzip'],
  ['.tar.gz', 'gzip'],
  ['.tbz2', 'bzip2'],
  ['.tar.bz2', 'bzip2'],
  ['.txz', 'xz'],
  ['.tar.xz', 'xz'],
];

/** Runs fetches for tasks; one per server, so that the cache is shared. */
export class Fetcher {
  private readonly cache = new Map<string, CacheEntry>();
  private serial = 0;
  private readonly stallTimeoutMs: number;

  constructor(private readonly options: FetcherOptions) {
    this.stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  }

  /** Fetches every URI into the sandbox, in order; throws a {@link FetchError} on the first failure. */
  async fetch(req: FetchRequest): Promise<void> {
    const log = (line: string): void => appendFileSync(join(req.sandbox, 'stderr'), `${line}\n`);
    let current = '';
    try {
      for (const u of req.uris) {
        const problem = uriProblem(u.uri);
        if (problem) throw new FetchError(`Failed to launch container: Could not fetch: ${problem}`, problem);
      }
      for (const u of req.uris) {
        current = u.uri;
        log(`Fetching URI '${u.uri}'`);
        const result = u.cache ? await this.throughCache(u, req, log) : await this.bypassingCache(u, req, log);
        log(`Fetched '${u.uri}' to '${result}'`);
      }
    } catch (e) {
      if (e instanceof FetchError) throw e;
      const detail = `Failed to fetch '${current}': ${e instanceof Error ? e.message : String(e)}`;
      log(detail);
      throw new FetchError(
        `Failed to launch container: Failed to fetch all URIs for container '${req.containerId}' with exit status: 256 (${detail})`,
        detail,
      );
    }
  }

  private async bypassingCache(u: FetchUri, req: FetchRequest, log: (l: string) => void): Promise<string> {
    log('Fetching directly into the sandbox directory');
    const path = await outputPath(u, req.sandbox);
    await this.download(u.uri, path, log, req.signal);
    if (u.executable) {
      await chmod(path, 0o755);
    } else if (u.extract && !(await this.extract(path, req.sandbox, log, req.signal))) {
      log(`Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an archive: ${u.uri}`);
    }
    return path;
  }

  private async throughCache(u: FetchUri, req: FetchRequest, log: (l: string) => void): Promise<string> {
    const key = req.user ? `${req.user}@${u.uri}` : u.uri;
    let entry = this.cache.get(key);
    if (entry) {
      const ok = await entry.done.then(
        () => true,
        () => false,
      );
      if (!ok) {
        log(`Reverting to fetching directly into the sandbox for '${u.uri}', due to failure to fetch through the cache`);
        return this.bypassingCache(u, req, log);
      }
    } else {
      // The entry is listed before the first await, so that concurrent fetches of the URI wait for this download.
      const filename = `c${++this.serial}-${shortBasename(u.uri)}`;
      const file = join(this.options.cacheDir, filename);
      const done = (async () => {
        await mkdir(this.options.cacheDir, { recursive: true });
        log('Downloading into cache');
        await this.download(u.uri, file, log, req.signal);
      })().catch(async (e: unknown) => {
        this.cache.delete(key);
        await rm(file, { force: true });
        throw e;
      });
      entry = { filename, done };
      // Waiters handle a failure themselves; this only keeps an unwaited rejection from being reported as unhandled.
      done.catch(() => undefined);
      this.cache.set(key, entry);
      await done;
    }
    log('Fetching from cache');
    const source = join(this.options.cacheDir, entry.filename);
    const dest = await outputPath(u, req.sandbox);
    if (u.executable) {
      await copyFile(source, dest);
      await chmod(dest, 0o755);
      return dest;
    }
    if (u.extract) {
      if (await this.extract(source, req.sandbox, log, req.signal)) return req.sandbox;
      log(`Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an archive: ${u.uri}`);
    }
    await copyFile(source, dest);
    return dest;
  }

  /** Downloads or copies one URI to `dest`. */
  private async download(raw: string, dest: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
    const uri = raw.trimStart();
    const local = uriToLocalPath(uri);
    if (local !== undefined) {
      log(`Copying resource with command: cp '${local}' '${dest}'`);
      try {
        await copyFile(local, dest);
      } catch (e) {
        throw new Error(
          `Failed to copy '${local}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String(e)}`,
        );
      }
      return;
    }
    if (/^https?:\/\//.test(uri)) {
      log(`Downloading resource from '${uri}' to '${dest}'`);
      return httpDownload(uri, dest, { stallMs: this.stallTimeoutMs, connectTo: this.options.connectTo ?? [], log, signal }, 0);
    }
    if (/^ftps?:\/\//.test(uri)) throw new Error('Error downloading resource: the local Marathon does not fetch ftp:// or ftps:// URIs');
    // Mesos hands every other scheme (hdfs://, s3://, gs:// ...) to the Hadoop client.
    throw new Error(`Failed to create HDFS client: the local Marathon fetches only http://, https://, file:// URIs and absolute paths`);
  }

  /** Unpacks `source` into `dir` if its name is a recognised archive; false when it is not one. */
  private async extract(source: string, dir: string, log: (l: string) => void, signal?: AbortSignal): Promise<boolean> {
    const fail = (why: string): Error => new Error(`Failed to extract archive '${source}' to '${dir}': ${why}`);
    const tar = TAR_EXTENSIONS.find(([ext]) => source.endsWith(ext));
    if (tar || source.endsWith('.zip')) {
      const [program, args] = tar ? ['tar', ['-C', dir, '-xf', source]] : ['unzip', ['-o', '-q', '-d', dir, source]];
      for (const needed of [program, tar?.[1]]) {
        if (needed && !onPath(needed, this.options.path))
          throw fail(
            `'${needed}' is not installed (not found on PATH); the local Marathon unpacks archives with the system's tar, gzip, bzip2, xz and unzip`,
          );
      }
      const stderr = await run(program, args, this.options.path, signal).catch((e: Error) => {
        throw fail(e.message);
      });
      if (stderr) log(stderr);
    } else if (source.endsWith('.gz')) {
      const dest = join(dir, basename(source.slice(0, -3)));
      await pipeline(createReadStream(source), createGunzip(), createWriteStream(dest), { signal }).catch((e: Error) => {
        throw new Error(`Failed to extract '${source}': ${e.message}`);
      });
    } else {
      return false;
    }
    log(`Extracted '${source}' into '${dir}'`);
    return true;
  }
}

/** Mesos' URI validation (`Fetcher::basename`): the reason a URI cannot be fetched at all, if any. */
function uriProblem(uri: string): string | undefined {
  if (/[\\'\0]/.test(uri)) return 'Illegal characters in URI';
  const i = uri.indexOf('://');
  if (i > 1) {
    const path = uri.slice(i + 3);
    if (!path.includes('/') || path.length <= path.indexOf('/') + 1) return `Malformed URI (missing path): ${uri}`;
  }
  return undefined;
}

/** The URI's last segment, as Mesos names the file (it treats a URI as a path, so a query string stays in the name). */
function uriBasename(uri: string): string {
  const i = uri.indexOf('://');
  if (i > 1) {
    const path = uri.slice(i + 3);
    return path.slice(path.lastIndexOf('/') + 1);
  }
  return basename(uri);
}

/** A cache file name keeps the extension (extraction looks at it) and a little of the URI's name for people. */
function shortBasename(uri: string): string {
  const s = uriBasename(uri);
  return s.length > 20 ? `${s.slice(0, 10)}_${s.slice(-10)}` : s;
}

/** The file in the sandbox: `destPath` or the URI's last segment; its directory is created. */
async function outputPath(u: FetchUri, sandbox: string): Promise<string> {
  const name = u.destPath ?? uriBasename(u.uri.trimStart());
  const path = join(sandbox, name);
  const rel = relative(sandbox, path);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`destPath '${name}' is not a file inside the sandbox`);
  await mkdir(dirname(path), { recursive: true });
  return path;
}

/** `file://` URIs and paths are local (Mesos' `Fetcher::uriToLocalPath`); undefined for other schemes. */
function uriToLocalPath(uri: string): string | undefined {
  if (!uri.startsWith('file://') && uri.includes('://')) return undefined;
  let path = uri;
  let fileUri = false;
  for (const prefix of ['file://localhost', 'file://']) {
    if (path.startsWith(prefix)) {
      path = path.slice(prefix.length);
      fileUri = true;
      break;
    }
  }
  if (fileUri && !path.startsWith('/')) throw new Error('File URI only supports absolute paths');
  if (!path.startsWith('/'))
    throw new Error(
      'A relative path was passed for the resource but the Mesos framework home was not specified. Please either provide this config option or avoid using a relative path',
    );
  return path;
}

/** How {@link httpDownload} connects. */
interface DownloadOptions {
  stallMs: number;
  connectTo: readonly FetcherConnectTo[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** The request options for `url`: its own host, or the connection table's address for it (Host and SNI unchanged). */
function requestOptions(url: string, o: DownloadOptions): RequestOptions & { servername?: string } {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const entry = o.connectTo.find((c) => c.host.toLowerCase() === host.toLowerCase() && c.port === port);
  if (!entry) return { signal: o.signal };
  o.log(`Connecting to '${u.host}' at ${entry.to.host}:${entry.to.port} (the fetcher's connection table)`);
  return {
    hostname: entry.to.host.replace(/^\[|\]$/g, ''),
    port: entry.to.port,
    headers: { host: u.host },
    ...(u.protocol === 'https:' ? { servername: host } : {}),
    signal: o.signal,
  };
}

function httpDownload(url: string, dest: string, o: DownloadOptions, redirects: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const onResponse = (res: IncomingMessage): void => {
      const code = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(code) && location) {
        res.resume();
        if (redirects >= 20) return reject(new Error('Error downloading resource: Maximum (20) redirects followed'));
        resolve(httpDownload(new URL(location, url).href, dest, o, redirects + 1));
        return;
      }
      if (code !== 200) {
        res.resume();
        return reject(new Error(`Error downloading resource, received HTTP return code ${code}`));
      }
      pipeline(res, createWriteStream(dest)).then(resolve, (e: Error) => reject(new Error(`Error downloading resource: ${e.message}`)));
    };
    let req;
    try {
      req = get(url, requestOptions(url, o), onResponse);
    } catch (e) {
      return reject(new Error(`Error downloading resource: ${e instanceof Error ? e.message : String(e)}`));
    }
    // An idle socket, before or during the body: curl's "speed limit" that Mesos sets from --fetcher_stall_timeout.
    req.setTimeout(o.stallMs, () =>
      req.destroy(new Error(`Operation too slow. Less than 1 bytes/sec transferred the last ${o.stallMs / 1000} seconds`)),
    );
    req.on('error', (e) => reject(new Error(`Error downloading resource: ${e.message}`)));
  });
}

function onPath(bin: string, path: string): boolean {
  return path.split(delimiter).some((d) => d && existsSync(join(d, bin)));
}

/** Runs a program to completion; resolves with its stderr, rejects with it (or the exit status) on failure. */
function run(file: string, args: string[], path: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { PATH: path }, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      const text = stderr.trim();
      if (code === 0) resolve(text);
      else reject(new Error(`'${file} ${args.join(' ')}' failed: ${text || (sig ? `killed by ${sig}` : `exit status ${code}`)}`));
    });
  });
}
