# Builds the oneDNN addon of the 'native' TensorFlow.js engine: `npm run build:native` (node-gyp).
# One .cc file per kernel family; addon.cc registers them all. -fno-math-errno (errno is never
# read) lets GCC vectorize loops with sqrt, e.g. the fused Adam update; -fno-trapping-math
# (floating-point exception flags are never read either) lets it turn float compares and selects
# into vector code, e.g. the max-pool gradient. Neither changes a computed value.
# A second addon, resnet_jpeg (src/jpeg.cc: small JPEG files decoded with libjpeg-turbo), is built
# when build.mjs found libjpeg's headers (RESNET_WITH_JPEG=1; Debian: libjpeg62-turbo-dev).
{
  "variables": { "with_jpeg%": "<!(node -p \"process.env.RESNET_WITH_JPEG === '1' ? 1 : 0\")" },
  "conditions": [
    ["with_jpeg==1", {
      "targets": [
        {
          "target_name": "resnet_jpeg",
          "sources": ["src/jpeg.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
          "cflags_cc": ["-std=c++17", "-O2", "-fexceptions"],
          "libraries": ["-ljpeg"]
        }
      ]
    }]
  ],
  "targets": [
    {
      "target_name": "tfjs_native",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/conv.cc",
        "src/conv_gemm.cc",
        "src/pool.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/optimizer.cc",
        "src/normalization.cc",
        "src/matmul.cc",
        "src/infer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
