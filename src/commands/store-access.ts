import { CaptureStore } from '../capture/store.js';
import { ErrorCode, isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { EXIT_FAILURE, fail } from './shared.js';

/** The `--data-dir` flag every store command takes. */
export interface StoreFlags {
  readonly dataDir?: string;
}

/**
 * Opens the capture store of `--data-dir` (else HOOKTUNNEL_HOME, else the platform directory). Failures print one
 * line and exit 1, unless `rethrow` (the caller has a fallback).
 */
export function openStore(flags: StoreFlags, readonly: boolean, rethrow = false): CaptureStore {
  try {
    return CaptureStore.open(resolveDataDir(flags.dataDir), { readonly });
  } catch (err) {
    if (rethrow) throw err;
    fail(isHooktunnelError(err) ? err.message : `cannot open the capture store: ${(err as Error).message}`);
  }
}

/** Runs `fn` and turns unknown and ambiguous ids into one line on stderr and exit 1. */
export function withCapture<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isHooktunnelError(err, ErrorCode.InvalidArgument)) fail(err.message, EXIT_FAILURE);
    throw err;
  }
}
