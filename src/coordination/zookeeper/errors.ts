/**
 * Turns ZooKeeper result codes into the project's error vocabulary. The numeric code stays on
 * the error (`zkCode`) so the session layer can tell connection loss from expiry.
 */
import { StreamkeeperError, type ErrorCode } from '../../errors/index.js';

/** Result codes of the ZooKeeper protocol (the same numbers in every client library). */
export const ZkRc = {
  ok: 0,
  systemError: -1,
  connectionLoss: -4,
  operationTimeout: -7,
  badArguments: -8,
  invalidState: -9,
  noNode: -101,
  noAuth: -102,
  badVersion: -103,
  noChildrenForEphemerals: -108,
  nodeExists: -110,
  notEmpty: -111,
  sessionExpired: -112,
  invalidAcl: -114,
  authFailed: -115,
  closing: -116,
  sessionMoved: -118,
} as const;

const codeByRc = new Map<number, ErrorCode>([
  [ZkRc.connectionLoss, 'SK_ZK_CONNECTION_LOSS'],
  [ZkRc.operationTimeout, 'SK_ZK_CONNECTION_LOSS'],
  [ZkRc.sessionExpired, 'SK_ZK_SESSION_EXPIRED'],
  [ZkRc.invalidState, 'SK_ZK_SESSION_EXPIRED'],
  [ZkRc.closing, 'SK_ZK_SESSION_EXPIRED'],
  [ZkRc.noNode, 'SK_ZK_NO_NODE'],
  [ZkRc.nodeExists, 'SK_ZK_NODE_EXISTS'],
  [ZkRc.badVersion, 'SK_ZK_BAD_VERSION'],
  [ZkRc.notEmpty, 'SK_ZK_NOT_EMPTY'],
  [ZkRc.noAuth, 'SK_ZK_NO_AUTH'],
  [ZkRc.authFailed, 'SK_ZK_NO_AUTH'],
]);

export class ZooKeeperError extends StreamkeeperError {
  constructor(
    readonly zkCode: number,
    readonly operation: string,
    readonly path: string,
    detail?: string,
  ) {
    super(codeByRc.get(zkCode) ?? 'SK_ZK_ERROR', `${operation} ${path}: ${detail ?? `ZooKeeper error ${zkCode}`}`, { field: path });
  }
}

export function zkError(rc: number, operation: string, path: string, detail?: string): ZooKeeperError {
  return new ZooKeeperError(rc, operation, path, detail);
}

/** True for errors after which the same session may still succeed (retry on the same client). */
export function isConnectionLoss(err: unknown): boolean {
  return err instanceof StreamkeeperError && err.code === 'SK_ZK_CONNECTION_LOSS';
}

/** True when the client is dead and a new session is needed. */
export function isSessionExpired(err: unknown): boolean {
  return err instanceof StreamkeeperError && err.code === 'SK_ZK_SESSION_EXPIRED';
}
