// Plain-JavaScript reference implementations (loops over NHWC arrays, no TensorFlow.js) used to check
// layer outputs independently. Written for clarity, not speed: tests use tiny shapes.

export interface NHWC {
  data: Float64Array;
  shape: [number, number, number, number];
}

export function nhwc(shape: [number, number, number, number], fill: (n: number, h: number, w: number, c: number) => number): NHWC {
  const [N, H, W, C] = shape;
  const data = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) data[((n * H + h) * W + w) * C + c] = fill(n, h, w, c);
  return { data, shape };
}

export function at(t: NHWC, n: number, h: number, w: number, c: number): number {
  const [, H, W, C] = t.shape;
  return t.data[((n * H + h) * W + w) * C + c];
}

/**
 * Convolution with every kernel weight equal to `weight` and zero bias. 'same' padding follows
 * TensorFlow's rule: total padding max((out-1)*stride + k - in, 0), the smaller half on top/left.
 */
export function convConstant(x: NHWC, filters: number, k: number, stride: number, padding: 'same' | 'valid', weight = 1): NHWC {
  const [N, H, W, C] = x.shape;
  const outH = padding === 'same' ? Math.ceil(H / stride) : Math.floor((H - k) / stride) + 1;
  const outW = padding === 'same' ? Math.ceil(W / stride) : Math.floor((W - k) / stride) + 1;
  const padTop = padding === 'same' ? Math.floor(Math.max((outH - 1) * stride + k - H, 0) / 2) : 0;
  const padLeft = padding === 'same' ? Math.floor(Math.max((outW - 1) * stride + k - W, 0) / 2) : 0;
  return nhwc([N, outH, outW, filters], (n, oh, ow) => {
    let sum = 0;
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        const h = oh * stride + i - padTop;
        const w = ow * stride + j - padLeft;
        if (h < 0 || h >= H || w < 0 || w >= W) continue;
        for (let c = 0; c < C; c++) sum += at(x, n, h, w, c);
      }
    return weight * sum;
  });
}

/** BatchNormalization with gamma 1, beta 0. Inference: moving mean 0 and variance 1. Training: batch statistics (biased variance over N, H, W). */
export function batchNorm(x: NHWC, training: boolean, epsilon = 1e-3): NHWC {
  const [N, H, W, C] = x.shape;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C).fill(1);
  if (training) {
    const count = N * H * W;
    for (let i = 0; i < x.data.length; i++) mean[i % C] += x.data[i] / count;
    variance.fill(0);
    for (let i = 0; i < x.data.length; i++) variance[i % C] += (x.data[i] - mean[i % C]) ** 2 / count;
  }
  return { shape: x.shape, data: x.data.map((v, i) => (v - mean[i % C]) / Math.sqrt(variance[i % C] + epsilon)) };
}

export function relu(x: NHWC): NHWC {
  return { shape: x.shape, data: x.data.map((v) => Math.max(v, 0)) };
}

export function add(a: NHWC, b: NHWC): NHWC {
  return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i]) };
}
