import { NewAuditEvent } from '../audit/log';
import { EnvironmentName } from '../catalog/types';
import { MarathonClient } from '../marathon/client';

/**
 * Progress the deploy library reports while it works; the CLI turns these into a spinner or plain lines. The library
 * itself never prints.
 */
export type ProgressEvent =
  | { readonly kind: 'phase'; readonly appId: string; readonly message: string }
  | { readonly kind: 'submitted'; readonly appId: string; readonly deploymentId: string; readonly version: string }
  | { readonly kind: 'waiting-for-lock'; readonly appId: string; readonly deploymentIds: readonly string[] }
  | {
      readonly kind: 'step';
      readonly appId: string;
      readonly deploymentId: string;
      readonly currentStep: number;
      readonly totalSteps: number;
      readonly actions: readonly string[];
    }
  | {
      readonly kind: 'tasks';
      readonly appId: string;
      readonly healthy: number;
      readonly running: number;
      readonly wanted: number;
      readonly healthChecks: boolean;
    }
  | { readonly kind: 'rollback'; readonly appId: string; readonly message: string }
  /** Marathon did not answer a poll; waiting goes on until the deadline. */
  | { readonly kind: 'outage'; readonly appId: string; readonly message: string }
  | { readonly kind: 'done'; readonly appId: string; readonly message: string };

/** Where audit events go (the coordinator's AuditLog satisfies it). */
export interface AuditRecorder {
  record(event: NewAuditEvent): Promise<unknown>;
}

/** What every deploy operation needs. */
export interface DeployContext {
  readonly client: MarathonClient;
  /** Who acts (DEPLOY_ACTOR, git user, OS user): stamped as `c2c.deployed-by` and written to the audit log. */
  readonly actor: string;
  /** Deadline for one operation (waiting for locks, deployment and confirmation), ms. @default 300000 */
  readonly timeoutMs?: number;
  /** Deadline for the automatic rollback after a failure, ms. @default - timeoutMs, but at least 120000 */
  readonly rollbackTimeoutMs?: number;
  /** The longest pause between polls while waiting, ms (polling starts at 100 ms and backs off to this). @default 1000 */
  readonly pollIntervalMs?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly audit?: AuditRecorder;
  /**
   * When the whole command must be over (epoch ms), whatever `timeoutMs` says: waits end there. The CLI sets it from
   * `--timeout` and gives the client the same deadline (plus a moment to send a rollback). @default - none
   */
  readonly deadline?: number;
  /** An interrupt (Ctrl-C, SIGTERM): waiting stops at once, what is running is reported, nothing is rolled back. */
  readonly signal?: AbortSignal;
  /** Stop waiting and roll back after this many failed tasks of the new version. @default 3 */
  readonly maxTaskFailures?: number;
}

export interface ServiceEnv {
  readonly service: string;
  readonly environment: EnvironmentName;
}

export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_POLL_MS = 1000;
export const DEFAULT_MAX_TASK_FAILURES = 3;
