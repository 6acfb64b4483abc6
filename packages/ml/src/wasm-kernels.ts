/**
 * Kernels the WASM backend of TensorFlow.js 4.22 lacks but training needs.
 *
 * `Conv2DBackpropFilter` (the filter gradient of a convolution) is missing, so a CNN cannot train
 * on `wasm`. We provide it by composing kernels the WASM backend does have (im2col):
 *
 *   patches[b, oh, ow, (kh * KW + kw) * C + c] = xPadded[b, oh * sh + kh, ow * sw + kw, c]
 *   dW = reshape(patches, [N, KH * KW * C])^T . reshape(dy, [N, F]),  N = B * OH * OW
 *
 * which is exactly TensorFlow's definition for NHWC, dilation 1. Composition calls the backend's
 * own kernel functions (the modular-kernel pattern), never the engine, and frees intermediates.
 */
import type { TF } from "./backend.ts";

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
type KernelFunc = (args: {
  inputs: Record<string, TensorInfo> | TensorInfo[] | Record<string, unknown>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}) => TensorInfo | TensorInfo[];
interface Backend {
  disposeData(dataId: object, force?: boolean): boolean;
}

export const WASM_EXTRA_KERNELS = ["Conv2DBackpropFilter"] as const;

/** Padding (top, bottom, left, right) TensorFlow uses for a convolution. */
export function convPadding(
  pad: unknown,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  kH: number,
  kW: number,
  sH: number,
  sW: number,
): [number, number, number, number] {
  if (pad === "valid") return [0, 0, 0, 0];
  if (pad === "same") {
    const totalH = Math.max((outH - 1) * sH + kH - inH, 0);
    const totalW = Math.max((outW - 1) * sW + kW - inW, 0);
    const top = Math.floor(totalH / 2),
      left = Math.floor(totalW / 2);
    return [top, totalH - top, left, totalW - left];
  }
  if (typeof pad === "number") return [pad, pad, pad, pad];
  if (Array.isArray(pad) && pad.length === 4) {
    const p = pad as number[][];
    return [p[1]?.[0] ?? 0, p[1]?.[1] ?? 0, p[2]?.[0] ?? 0, p[2]?.[1] ?? 0];
  }
  throw new Error(`Conv2DBackpropFilter (fedmarket wasm kernel): unsupported padding ${JSON.stringify(pad)}`);
}

/** Registers the missing kernels for the `wasm` backend (idempotent). Returns what it added. */
export function registerWasmTrainingKernels(tf: TF): string[] {
  const added: string[] = [];
  if (tf.getKernel("Conv2DBackpropFilter", "wasm") === undefined) {
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: conv2dBackpropFilter(tf) as unknown as Parameters<TF["registerKernel"]>[0]["kernelFunc"],
    });
    added.push("Conv2DBackpropFilter");
  }
  return added;
}

function conv2dBackpropFilter(tf: TF) {
  const k = (name: string): KernelFunc => {
    const kernel = tf.getKernel(name, "wasm");
    if (kernel === undefined) throw new Error(`wasm backend lacks the ${name} kernel`);
    return kernel.kernelFunc as unknown as KernelFunc;
  };
  const reshapeK = k("Reshape"),
    padK = k("PadV2"),
    sliceK = k("StridedSlice"),
    concatK = k("Concat"),
    matMulK = k("BatchMatMul");

  return (args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: Backend; attrs: Record<string, unknown> }): TensorInfo => {
    const {
      inputs: { x, dy },
      backend,
      attrs,
    } = args;
    const strides = attrs.strides as number | [number, number];
    const filterShape = attrs.filterShape as [number, number, number, number];
    if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
      throw new Error(`Conv2DBackpropFilter (fedmarket wasm kernel): only NHWC is supported, got ${String(attrs.dataFormat)}`);
    }
    const [sH, sW] = typeof strides === "number" ? [strides, strides] : strides;
    const [kH, kW, inC, outC] = filterShape;
    const [b, inH, inW] = x.shape as [number, number, number, number];
    const [, outH, outW] = dy.shape as [number, number, number, number];
    const [top, bottom, left, right] = convPadding(attrs.pad, inH, inW, outH, outW, kH, kW, sH, sW);
    const temps: TensorInfo[] = [];
    const keep = <T extends TensorInfo>(t: T): T => {
      temps.push(t);
      return t;
    };
    try {
      const xp =
        top + bottom + left + right === 0
          ? x
          : keep(
              padK({
                inputs: { x },
                backend,
                attrs: {
                  paddings: [
                    [0, 0],
                    [top, bottom],
                    [left, right],
                    [0, 0],
                  ],
                  constantValue: 0,
                },
              }) as TensorInfo,
            );
      const slices: TensorInfo[] = [];
      for (let i = 0; i < kH; i++) {
        for (let j = 0; j < kW; j++) {
          slices.push(
            keep(
              sliceK({
                inputs: { x: xp },
                backend,
                attrs: {
                  begin: [0, i, j, 0],
                  end: [b, i + sH * (outH - 1) + 1, j + sW * (outW - 1) + 1, inC],
                  strides: [1, sH, sW, 1],
                  beginMask: 0,
                  endMask: 0,
                  ellipsisMask: 0,
                  newAxisMask: 0,
                  shrinkAxisMask: 0,
                },
              }) as TensorInfo,
            ),
          );
        }
      }
      const patches =
        slices.length === 1 ? (slices[0] as TensorInfo) : keep(concatK({ inputs: slices, backend, attrs: { axis: 3 } }) as TensorInfo);
      const n = b * outH * outW;
      const a = keep(reshapeK({ inputs: { x: patches }, backend, attrs: { shape: [1, n, kH * kW * inC] } }) as TensorInfo);
      const g = keep(reshapeK({ inputs: { x: dy }, backend, attrs: { shape: [1, n, outC] } }) as TensorInfo);
      const dw = keep(matMulK({ inputs: { a, b: g }, backend, attrs: { transposeA: true, transposeB: false } }) as TensorInfo);
      const out = reshapeK({ inputs: { x: dw }, backend, attrs: { shape: [kH, kW, inC, outC] } }) as TensorInfo;
      return out;
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}
