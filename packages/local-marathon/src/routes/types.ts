/** What a route module (one per resource) receives and implements. */
import { IncomingMessage, ServerResponse } from 'node:http';
import { JsonObject } from '../json';
import { Marathon, Reply } from '../marathon';

/** One request, parsed once by the handler. */
export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  /** The path without trailing slashes (`/` for the root). */
  path: string;
  clientIp: string;
  /** `?force=true`. */
  force: boolean;
}

/** What routes share: the state machine, the leader address and the `/v2/info` body. */
export interface RouteContext {
  marathon: Marathon;
  /** `http://127.0.0.1:<port>`. */
  leader: () => string;
  /** `127.0.0.1:<port>`. */
  hostPort: () => string;
  info: () => Promise<JsonObject>;
  /** What this server says about itself under `/__local/info`. */
  localInfo: () => Promise<JsonObject>;
}

/** A resource: the paths it owns and their handler. `undefined` means the handler has answered itself (streams). */
export interface Resource {
  owns(path: string): boolean;
  handle(r: RouteRequest): Promise<Reply | undefined>;
}

/** 405 with Marathon's body. */
export const NOT_ALLOWED: Reply = { status: 405, body: { message: 'HTTP 405 Method Not Allowed' } };
