import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { REPO_ROOT } from './model-function.ts';

/** Directory the layer's files appear in at run time (layers mount under `/opt`). */
export const ORT_WASM_MOUNT = '/opt/ort';

/**
 * onnxruntime-web builds that Node.js on Lambda can run: the CPU SIMD build and its Emscripten
 * glue. The `jsep`/`jspi`/`asyncify` builds target WebGPU/JSPI in browsers and would add ~70 MB.
 */
const DEFAULT_FILES = /^ort-wasm-simd-threaded\.(wasm|mjs)$/;

/** Properties of {@link OrtWasmLayer}. */
export interface OrtWasmLayerProps {
  /**
   * Which files of `node_modules/onnxruntime-web/dist` go into the layer.
   * @default /^ort-wasm-simd-threaded\.(wasm|mjs)$/
   */
  readonly include?: RegExp;
}

/**
 * Lambda layer with onnxruntime-web's wasm files, shared by score and explain so their bundles stay
 * small (DESIGN.md §2, `layers/`). The asset source is `layers/ort-wasm/`; a local (Docker-free)
 * bundling step copies the files from `node_modules/onnxruntime-web/dist` into `ort/`, so they
 * mount at {@link ORT_WASM_MOUNT}. Functions read the path from `VIGIL_ORT_WASM_DIR`.
 */
export class OrtWasmLayer extends Construct {
  public readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: OrtWasmLayerProps = {}) {
    super(scope, id);
    const include = props.include ?? DEFAULT_FILES;
    const distDir = join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: 'onnxruntime-web wasm runtime files, mounted at /opt/ort',
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
      code: lambda.Code.fromAsset(join(REPO_ROOT, 'layers', 'ort-wasm'), {
        // Hash the copied files, not the source dir: an onnxruntime-web upgrade must publish a new layer.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never used: local bundling below always succeeds or throws.
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/busybox:stable'),
          local: {
            tryBundle(outputDir: string): boolean {
              const files = existsSync(distDir) ? readdirSync(distDir).filter((f) => include.test(f)) : [];
              if (!files.some((f) => f.endsWith('.wasm'))) {
                throw new Error(
                  `OrtWasmLayer: no wasm files matching ${include} in ${distDir}; run npm ci first.`,
                );
              }
              mkdirSync(join(outputDir, 'ort'), { recursive: true });
              for (const f of files) copyFileSync(join(distDir, f), join(outputDir, 'ort', f));
              return true;
            },
          },
        },
      }),
    });
  }
}
