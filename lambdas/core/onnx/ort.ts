import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-web';

/**
 * onnxruntime-web (wasm) sessions for ONNX models. One thread: Lambda and the
 * local twin score small batches, and worker threads would only add start-up
 * cost. The wasm files are located explicitly: in Lambda they come from the
 * layer (`VIGIL_ORT_WASM_DIR`), locally from node_modules.
 */
let configured = false;

/** Directory holding onnxruntime-web's `.wasm` files. */
export function defaultWasmDir(): string {
  const require = createRequire(import.meta.url);
  // The package's `require` entry lives in dist/, next to the wasm files.
  return `${path.dirname(require.resolve('onnxruntime-web'))}/`;
}

function configure(wasmDir?: string): void {
  if (configured) return;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const dir = wasmDir ?? defaultWasmDir();
  ort.env.wasm.wasmPaths = dir.endsWith('/') ? dir : `${dir}/`;
  ort.env.logLevel = 'error';
  configured = true;
}

export interface OrtModel {
  readonly session: ort.InferenceSession;
  readonly inputName: string;
  /** Runs the graph on a row-major float32 matrix; returns each requested output as float64. */
  run(
    x: Float32Array,
    rows: number,
    nFeatures: number,
    outputs: readonly string[],
  ): Promise<Record<string, Float64Array>>;
}

/** Creates an onnxruntime-web session for ONNX bytes. */
export async function createOrtModel(bytes: Uint8Array, opts: { wasmDir?: string } = {}): Promise<OrtModel> {
  configure(opts.wasmDir);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  return {
    session,
    inputName,
    async run(x, rows, nFeatures, outputs) {
      const feeds = { [inputName]: new ort.Tensor('float32', x, [rows, nFeatures]) };
      const res = await session.run(feeds, outputs as string[]);
      const out: Record<string, Float64Array> = {};
      for (const name of outputs) out[name] = Float64Array.from(res[name].data as Float32Array);
      return out;
    },
  };
}
