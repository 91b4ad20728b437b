import { parseAllowList } from '../auth.js';
import type { TunnelAccess } from '../gate.js';

/** What of a tunnel's access rules a store writes down: the owner key (a token digest or an address), never a secret. */
export interface SavedAccess {
  readonly owner: string;
  readonly authDigest?: string;
  readonly allow?: readonly string[];
}

/** The part of `access` a store keeps (the allow list as the CIDR strings it was built from). */
export function encodeAccess(a: TunnelAccess): SavedAccess {
  return { owner: a.owner, ...(a.authDigest ? { authDigest: a.authDigest } : {}), ...(a.allowList ? { allow: a.allowList } : {}) };
}

/** Access rules from what a store kept; undefined when `v` is not a SavedAccess. */
export function decodeAccess(v: unknown): TunnelAccess | undefined {
  const a = v as Partial<SavedAccess> | null;
  if (!a || typeof a.owner !== 'string') return undefined;
  if (a.authDigest !== undefined && !/^[0-9a-f]{64}$/.test(a.authDigest)) return undefined;
  if (a.allow !== undefined && !(Array.isArray(a.allow) && a.allow.every((c) => typeof c === 'string'))) return undefined;
  try {
    const allow = a.allow?.length ? parseAllowList(a.allow) : undefined;
    return { owner: a.owner, authDigest: a.authDigest, allow, allowList: a.allow?.length ? a.allow : undefined };
  } catch {
    return undefined;
  }
}
