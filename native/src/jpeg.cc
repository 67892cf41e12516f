// resnet_jpeg: decodes many small JPEG files with libjpeg-turbo, off the JavaScript thread. Built as
// its own addon (native/build/Release/resnet_jpeg.node; no oneDNN, no process-wide state), so any
// thread may load it. The data layer uses it for image folders (src/data/jpeg.ts): a 32x32 photo
// costs sharp's libvips pipeline ~1 ms of CPU to set up, and libjpeg-turbo ~25 us to decode.
//
// It takes only the plain case, where the result is the same pixels sharp would give (checked by
// test/data/jpeg.test.ts): a readable regular file, at most MAX_FILE_BYTES, an 8-bit baseline or
// progressive JPEG in YCbCr (3 components) or greyscale (1), stored at exactly the asked size, with
// no Exif block (which may rotate it) and no ICC profile (which may recolour it), decoded without a
// single libjpeg warning. Everything else is reported as "not taken" and JavaScript decodes it with
// sharp, which also words the errors: this code never reports why.
//
// decodeJpegFiles(paths, height, width, out, taken) -> Promise<void>: image i goes to
// out[i*h*w*3 ...] as RGB (a greyscale file is copied to the three channels, as libvips does);
// taken[i] is 1 when it was decoded here, 0 when JavaScript must decode it. jpegHeaderSizes(paths,
// sizes) reads the stored sizes of the same plain JPEGs (for the folder's most common size).
#include <napi.h>
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jpeglib.h>

namespace {

// Larger files (never a small photo) are left to sharp, which shrinks big JPEGs while decoding.
constexpr off_t MAX_FILE_BYTES = 16 << 20;

// A header (Exif included) is read from at most this many first bytes, as image-size does in JavaScript.
constexpr off_t HEADER_BYTES = 64 << 10;

// The whole file (whole = true), or its first HEADER_BYTES; false when missing, not a regular file,
// too large (whole) or unreadable. O_NONBLOCK: a pipe named like an image must not hang the thread;
// fstat then refuses it.
bool readFile(const std::string& path, std::vector<unsigned char>& bytes, bool whole) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat info;
  bool ok = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0 && (!whole || info.st_size <= MAX_FILE_BYTES);
  if (ok) {
    bytes.resize(static_cast<size_t>(whole ? info.st_size : std::min(info.st_size, HEADER_BYTES)));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = read(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ok = done == bytes.size();
  }
  close(fd);
  return ok;
}

// libjpeg reports fatal errors through error_exit, which must not return: jump back to decodeOne.
// Warnings (corrupt data it can step over) go through emit_message(-1); any of them refuses the
// file, since sharp fails on warnings.
struct ErrorManager {
  jpeg_error_mgr base;
  jmp_buf exit;
  bool warned;
};

void onError(j_common_ptr info) { longjmp(reinterpret_cast<ErrorManager*>(info->err)->exit, 1); }
void onMessage(j_common_ptr info, int level) {
  if (level < 0) reinterpret_cast<ErrorManager*>(info->err)->warned = true;
}
void silent(j_common_ptr) {}

bool startsWith(const jpeg_saved_marker_ptr marker, const char* tag, size_t length) {
  return marker->data_length >= length && std::memcmp(marker->data, tag, length) == 0;
}

// Decodes one JPEG held in `bytes` to `out` (height*width*3 RGB); false when not taken (see the
// header). With out == nullptr it reads the header only and stores the size in height and width
// (false when the file is not a plain JPEG: not one, Exif, ICC, another colour space).
bool decodeOne(const std::vector<unsigned char>& bytes, int& height, int& width, unsigned char* out) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = onError;
  errors.base.emit_message = onMessage;
  errors.base.output_message = silent;
  errors.warned = false;
  // Everything the jump can skip is set before setjmp (locals changed after it would be indeterminate).
  if (setjmp(errors.exit)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);  // Exif
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff);  // ICC profile
  bool taken = jpeg_read_header(&cinfo, TRUE) == JPEG_HEADER_OK;
  if (taken && out == nullptr) {
    height = static_cast<int>(cinfo.image_height);
    width = static_cast<int>(cinfo.image_width);
  }
  taken = taken && static_cast<int>(cinfo.image_width) == width && static_cast<int>(cinfo.image_height) == height && cinfo.data_precision == 8 &&
          ((cinfo.num_components == 3 && cinfo.jpeg_color_space == JCS_YCbCr) || (cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE));
  for (jpeg_saved_marker_ptr marker = cinfo.marker_list; taken && marker != nullptr; marker = marker->next) {
    if (marker->marker == JPEG_APP0 + 1 && startsWith(marker, "Exif\0", 5)) taken = false;
    if (marker->marker == JPEG_APP0 + 2 && startsWith(marker, "ICC_PROFILE\0", 12)) taken = false;
  }
  if (taken && out != nullptr) {
    // libjpeg's defaults, as libvips and Pillow leave them: the accurate integer IDCT and smooth
    // ("fancy") chroma upsampling.
    cinfo.out_color_space = JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    const size_t stride = static_cast<size_t>(width) * 3;
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = out + cinfo.output_scanline * stride;
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    taken = !errors.warned;
  }
  jpeg_destroy_decompress(&cinfo);
  return taken;
}

// Runs `work` on libuv's thread pool and settles a promise when it is done, keeping the typed
// arrays it writes (`keep`) alive until then.
class PoolWork : public Napi::AsyncWorker {
 public:
  static Napi::Promise queue(Napi::Env env, std::function<void()> work, std::initializer_list<Napi::Object> keep) {
    auto* job = new PoolWork(env, std::move(work), keep);
    Napi::Promise promise = job->deferred_.Promise();
    job->Queue();
    return promise;
  }
  void Execute() override { work_(); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  PoolWork(Napi::Env env, std::function<void()> work, std::initializer_list<Napi::Object> keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {
    for (const Napi::Object& array : keep) keep_.push_back(Napi::Persistent(array));
  }
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::vector<Napi::ObjectReference> keep_;
};

// Paths as C++ strings; a NUL inside one empties it (never opened: "not taken", "unknown").
std::vector<std::string> readPaths(Napi::Env env, Napi::Array list, const char* name) {
  std::vector<std::string> paths(list.Length());
  for (size_t i = 0; i < paths.size(); i++) {
    Napi::Value path = list.Get(static_cast<uint32_t>(i));
    if (!path.IsString()) throw Napi::TypeError::New(env, std::string(name) + ": every path must be a string");
    paths[i] = path.As<Napi::String>().Utf8Value();
    if (paths[i].find('\0') != std::string::npos) paths[i].clear();
  }
  return paths;
}

// jpegHeaderSizes(paths, sizes) -> Promise<void>: sizes[2i], sizes[2i+1] = the stored height and
// width of a plain JPEG (as decodeJpegFiles would take it, size aside), read from its first 64 KB;
// 0, 0 for anything else (JavaScript then reads that file's size its own way).
Napi::Value jpegHeaderSizes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "jpegHeaderSizes(paths: string[], sizes: Int32Array)");
  }
  Napi::Array list = info[0].As<Napi::Array>();
  Napi::Int32Array sizes = info[1].As<Napi::Int32Array>();
  if (sizes.ElementLength() != 2 * static_cast<size_t>(list.Length())) throw Napi::RangeError::New(env, "jpegHeaderSizes: sizes must hold 2 * paths.length values");
  int32_t* read = sizes.Data();
  return PoolWork::queue(env, [paths = readPaths(env, list, "jpegHeaderSizes"), read] {
    std::vector<unsigned char> bytes;
    for (size_t i = 0; i < paths.size(); i++) {
      int height = 0, width = 0;
      const bool known = readFile(paths[i], bytes, false) && decodeOne(bytes, height, width, nullptr);
      read[2 * i] = known ? height : 0;
      read[2 * i + 1] = known ? width : 0;
    }
  }, {sizes});
}

// The most pixels one image may have here: 4096 x 4096 (the data layer asks for much less).
constexpr double MAX_SIDE = 4096;

Napi::Value decodeJpegFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsTypedArray() || !info[4].IsTypedArray()) {
    throw Napi::TypeError::New(env, "decodeJpegFiles(paths: string[], height: number, width: number, out: Uint8Array, taken: Uint8Array)");
  }
  Napi::Array list = info[0].As<Napi::Array>();
  const double height = info[1].As<Napi::Number>().DoubleValue(), width = info[2].As<Napi::Number>().DoubleValue();
  if (!(height >= 1 && height <= MAX_SIDE && width >= 1 && width <= MAX_SIDE && height == static_cast<int>(height) && width == static_cast<int>(width))) {
    throw Napi::RangeError::New(env, "decodeJpegFiles: height and width must be whole numbers from 1 to 4096");
  }
  if (info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "decodeJpegFiles: out and taken must be Uint8Arrays");
  }
  Napi::Uint8Array out = info[3].As<Napi::Uint8Array>(), taken = info[4].As<Napi::Uint8Array>();
  const size_t count = list.Length();
  const size_t imageBytes = static_cast<size_t>(height) * static_cast<size_t>(width) * 3;
  if (out.ElementLength() != count * imageBytes || taken.ElementLength() != count) {
    throw Napi::RangeError::New(env, "decodeJpegFiles: out must hold paths.length * height * width * 3 bytes and taken paths.length");
  }
  unsigned char* pixels = out.Data();
  unsigned char* flags = taken.Data();
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  return PoolWork::queue(env, [paths = readPaths(env, list, "decodeJpegFiles"), pixels, flags, h, w, imageBytes] {
    std::vector<unsigned char> bytes;
    for (size_t i = 0; i < paths.size(); i++) {
      int decodedHeight = h, decodedWidth = w;
      flags[i] = readFile(paths[i], bytes, true) && decodeOne(bytes, decodedHeight, decodedWidth, pixels + i * imageBytes) ? 1 : 0;
    }
  }, {out, taken});
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpegFiles", Napi::Function::New(env, decodeJpegFiles, "decodeJpegFiles"));
  exports.Set("jpegHeaderSizes", Napi::Function::New(env, jpegHeaderSizes, "jpegHeaderSizes"));
  exports.Set("libjpegTurboVersion", Napi::String::New(env, [] {
    const int v = LIBJPEG_TURBO_VERSION_NUMBER;  // e.g. 2001005 for 2.1.5
    return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000);
  }()));
  return exports;
}

}  // namespace

NODE_API_MODULE(resnet_jpeg, init)
