import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import { describeError } from './informer.js';
import type { MeshDetector } from './mesh-detection.js';
import type { TrafficSplitReconciler } from './traffic-split-reconciler.js';

export interface DiscoveryLoopOptions {
  readonly discovery: Discovery;
  readonly logger: Logger;
  readonly reconciler: TrafficSplitReconciler;
  readonly meshDetector: MeshDetector;
  /** Caches that follow the served versions of their group. */
  readonly followers: readonly { sync(): Promise<void> }[];
  /** Discovery and mesh detection refresh (default 60 s; at most 5 s after a failure). */
  readonly refreshMs?: number;
  /** Every TrafficSplit is queued again this often (default 5 min). */
  readonly resyncMs?: number;
}

export interface DiscoveryLoop {
  stop(): void;
}

/**
 * Refreshes discovery (and, when it changed, the watches that follow it) and mesh detection,
 * sooner after a failure; queues every split again every `resyncMs`, whatever the watches said.
 * The first refresh starts at once.
 */
export function startDiscoveryLoop(options: DiscoveryLoopOptions): DiscoveryLoop {
  const { discovery, logger, reconciler, meshDetector } = options;
  let stopped = false;
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshMs = options.refreshMs ?? 60_000;
  const refresh = async () => {
    let nextInMs = refreshMs;
    try {
      const changed = await discovery.refresh();
      if (changed) {
        await reconciler.syncWithDiscovery();
        for (const follower of options.followers) await follower.sync();
      }
      const before = meshDetector.detectedMesh();
      const decision = await meshDetector.refresh();
      if (changed || decision.mesh !== before) reconciler.enqueueAll();
    } catch (error) {
      logger.warn({ err: describeError(error) }, 'API discovery failed; retrying');
      nextInMs = Math.min(refreshMs, 5_000);
    }
    if (stopped) return;
    refreshTimer = setTimeout(() => void refresh(), nextInMs);
    refreshTimer.unref();
  };
  const resync = setInterval(() => reconciler.enqueueAll(), options.resyncMs ?? 300_000);
  resync.unref();
  void refresh();
  return {
    stop() {
      stopped = true;
      clearTimeout(refreshTimer);
      clearInterval(resync);
    },
  };
}
