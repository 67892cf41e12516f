// Data re-arrangements that turn convolution gradients into plain matrix products, written as
// JavaScript loops over the wasm heap (they move memory; the arithmetic is done by XNNPACK).
// Layouts: images NHWC, filters [filterHeight, filterWidth, inChannels, outChannels] (TensorFlow's).

/** The sizes of one 2-D convolution, padding already resolved to explicit top/left amounts. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** Outputs o in [lo, hi) whose input coordinate o*stride + offset falls inside [0, inSize). */
function validOutputs(outSize: number, inSize: number, stride: number, offset: number): [number, number] {
  const lo = Math.min(outSize, Math.max(0, Math.ceil(-offset / stride)));
  const hi = Math.min(outSize, Math.floor((inSize - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Transposed im2col: cols[(fy, fx, c), (n, oy, ox)] = x[n, oy*sy + fy - padTop, ox*sx + fx - padLeft, c]
 * (0 outside the image), read from xT = x transposed to [C, N, H, W] so that rows are contiguous.
 * Then filterGradient[(fy, fx, c), k] = cols · dy[(n, oy, ox), k].
 */
export function im2colTransposed(xT: Float32Array, cols: Float32Array, g: ConvGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const sy = g.strideHeight;
  const sx = g.strideWidth;
  const rowLength = batch * OH * OW;
  for (let fy = 0; fy < g.filterHeight; fy++) {
    const [oyLo, oyHi] = validOutputs(OH, H, sy, fy - g.padTop);
    for (let fx = 0; fx < g.filterWidth; fx++) {
      const [oxLo, oxHi] = validOutputs(OW, W, sx, fx - g.padLeft);
      for (let c = 0; c < C; c++) {
        let d = ((fy * g.filterWidth + fx) * C + c) * rowLength;
        for (let n = 0; n < batch; n++) {
          const plane = (c * batch + n) * H * W;
          for (let oy = 0; oy < OH; oy++, d += OW) {
            if (oy < oyLo || oy >= oyHi) {
              for (let ox = 0; ox < OW; ox++) cols[d + ox] = 0;
              continue;
            }
            const row = plane + (oy * sy + fy - g.padTop) * W + fx - g.padLeft;
            for (let ox = 0; ox < oxLo; ox++) cols[d + ox] = 0;
            for (let ox = oxLo; ox < oxHi; ox++) cols[d + ox] = xT[row + ox * sx];
            for (let ox = oxHi; ox < OW; ox++) cols[d + ox] = 0;
          }
        }
      }
    }
  }
}

/**
 * col2im, accumulating: dx[n, oy*sy + fy - padTop, ox*sx + fx - padLeft, c] += dCols[(n, oy, ox), (fy, fx, c)]
 * over all filter taps that land inside the image. dx must be zero on entry.
 */
export function col2imAccumulate(dCols: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const tapsLength = g.filterHeight * g.filterWidth * C;
  let src = 0;
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, src += tapsLength) {
        for (let fy = 0; fy < g.filterHeight; fy++) {
          const iy = oy * g.strideHeight + fy - g.padTop;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < g.filterWidth; fx++) {
            const ix = ox * g.strideWidth + fx - g.padLeft;
            if (ix < 0 || ix >= W) continue;
            const d = ((n * H + iy) * W + ix) * C;
            const s = src + (fy * g.filterWidth + fx) * C;
            for (let c = 0; c < C; c++) dx[d + c] += dCols[s + c];
          }
        }
      }
    }
  }
}

/**
 * col2im from the transposed layout, accumulating: dx[n, iy, ix, c] += dColsT[(fy, fx, c), (n, oy, ox)]
 * with iy = oy*sy + fy - padTop, ix = ox*sx + fx - padLeft inside the image. dx must be zero on entry.
 */
export function col2imTransposedAccumulate(dColsT: Float32Array, dx: Float32Array, g: ConvGeometry): void {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const rowLength = batch * OH * OW;
  for (let fy = 0; fy < g.filterHeight; fy++) {
    const [oyLo, oyHi] = validOutputs(OH, H, g.strideHeight, fy - g.padTop);
    for (let fx = 0; fx < g.filterWidth; fx++) {
      const [oxLo, oxHi] = validOutputs(OW, W, g.strideWidth, fx - g.padLeft);
      for (let c = 0; c < C; c++) {
        const row = ((fy * g.filterWidth + fx) * C + c) * rowLength;
        for (let n = 0; n < batch; n++) {
          for (let oy = oyLo; oy < oyHi; oy++) {
            const s = row + (n * OH + oy) * OW;
            const d = ((n * H + oy * g.strideHeight + fy - g.padTop) * W + fx - g.padLeft) * C + c;
            for (let ox = oxLo; ox < oxHi; ox++) dx[d + ox * g.strideWidth * C] += dColsT[s + ox];
          }
        }
      }
    }
  }
}

/** Edge of the square tiles of `transposeInto` (16x16 floats = 1 KiB, kept in L1 on both sides). */
const TRANSPOSE_TILE = 16;

/** dst[dstOffset + c*rows + r] = src[srcOffset + r*cols + c], tile by tile (cache friendly). */
export function transposeInto(
  src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, rows: number, cols: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
    const r1 = Math.min(rows, r0 + TRANSPOSE_TILE);
    for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
      const c1 = Math.min(cols, c0 + TRANSPOSE_TILE);
      for (let r = r0; r < r1; r++) {
        const s = srcOffset + r * cols;
        for (let c = c0; c < c1; c++) dst[dstOffset + c * rows + r] = src[s + c];
      }
    }
  }
}

/**
 * The filter of the transposed convolution: out[fy, fx, k, c] = w[FH-1-fy, FW-1-fx, c, k]
 * (spatially flipped, in/out channels swapped). Correlating dy with it, stride 1, gives dx.
 */
export function flipAndSwapChannels(w: Float32Array, out: Float32Array, g: ConvGeometry): void {
  const { filterHeight: FH, filterWidth: FW, inChannels: C, outChannels: K } = g;
  for (let fy = 0; fy < FH; fy++) {
    for (let fx = 0; fx < FW; fx++) {
      const tap = ((FH - 1 - fy) * FW + (FW - 1 - fx)) * C * K;
      transposeInto(w, tap, out, (fy * FW + fx) * K * C, C, K);
    }
  }
}
