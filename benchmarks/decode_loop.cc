// The raw decode limit of `make bench`: a bare loop that decodes the encoded cells of one or more
// Parquet columns (PNG through libspng, JPEG through TurboJPEG, .npy by parsing its header and
// copying its payload) on N threads, with no reader, no queue and no Python around it.
//
//   decode_loop --column image1:png [--column array_4d:npy] [--threads 2] [--runs 5]
//               [--warmup 1] [--scale NUM/DEN] FILE.parquet...
//
// --scale decodes JPEG cells at that TurboJPEG scaling factor (tjDecompress2 at TJSCALED sizes,
// in the DCT domain), the raw limit beside the reader's decode_options scale; PNG and .npy
// cells are not scaled.
//
// The columns' bytes are read from the files once, before any timing; only the decode loop is
// timed. Each thread reuses one output buffer per column (growing it when needed), so the figure
// is the decoder's own speed. Prints one JSON object (the same fields as benchmarks/runner.py):
// per measured run its wall time, CPU time, rows and decoded bytes, and the peak RSS.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <spng.h>
#include <sys/resource.h>
#include <turbojpeg.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

enum class Kind { kPng, kJpeg, kNpy };

struct Column {
  std::string name;
  Kind kind;
  std::vector<std::string_view> cells;  // views into `tables` below
};

struct Options {
  std::vector<Column> columns;
  std::vector<std::string> files;
  int threads = 1;
  int runs = 5;
  int warmup = 1;
  tjscalingfactor scale{1, 1};
};

[[noreturn]] void Fail(const std::string& message) { throw std::runtime_error(message); }

void Check(const arrow::Status& status) {
  if (!status.ok()) Fail(status.ToString());
}

Kind ParseKind(const std::string& name) {
  if (name == "png") return Kind::kPng;
  if (name == "jpeg" || name == "jpg") return Kind::kJpeg;
  if (name == "npy") return Kind::kNpy;
  Fail("unknown codec '" + name + "' (png, jpeg or npy)");
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Fail("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--column") {
      std::string spec = value();
      auto colon = spec.rfind(':');
      if (colon == std::string::npos) Fail("--column takes NAME:png|jpeg|npy, got " + spec);
      options.columns.push_back({spec.substr(0, colon), ParseKind(spec.substr(colon + 1)), {}});
    } else if (arg == "--threads") {
      options.threads = std::stoi(value());
    } else if (arg == "--runs") {
      options.runs = std::stoi(value());
    } else if (arg == "--warmup") {
      options.warmup = std::stoi(value());
    } else if (arg == "--scale") {
      std::string spec = value();
      auto slash = spec.find('/');
      if (slash == std::string::npos) Fail("--scale takes NUM/DEN, got " + spec);
      options.scale = {std::stoi(spec.substr(0, slash)), std::stoi(spec.substr(slash + 1))};
      int count = 0;
      const tjscalingfactor* factors = tjGetScalingFactors(&count);
      bool offered = false;
      for (int f = 0; f < count; ++f) {
        offered |= factors[f].num == options.scale.num && factors[f].denom == options.scale.denom;
      }
      if (!offered) Fail("--scale " + spec + " is not a TurboJPEG scaling factor");
    } else if (arg.rfind("--", 0) == 0) {
      Fail("unknown option " + arg);
    } else {
      options.files.push_back(arg);
    }
  }
  if (options.columns.empty() || options.files.empty()) Fail("need --column and at least one file");
  if (options.threads < 1 || options.runs < 1 || options.warmup < 0) Fail("bad counts");
  return options;
}

// Reads the named columns of every file; the tables keep the cells' memory alive.
std::vector<std::shared_ptr<arrow::Table>> LoadColumns(Options& options) {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& path : options.files) {
    auto file = arrow::io::ReadableFile::Open(path);
    Check(file.status());
    auto reader = parquet::arrow::OpenFile(*file, arrow::default_memory_pool());
    Check(reader.status());
    std::shared_ptr<arrow::Schema> schema;
    Check((*reader)->GetSchema(&schema));
    std::vector<int> indices;
    for (const auto& column : options.columns) {
      int index = schema->GetFieldIndex(column.name);
      if (index < 0) Fail("no column '" + column.name + "' in " + path);
      indices.push_back(index);
    }
    auto table = (*reader)->ReadTable(indices);
    Check(table.status());
    for (size_t c = 0; c < options.columns.size(); ++c) {
      for (const auto& chunk : (*table)->column(static_cast<int>(c))->chunks()) {
        auto& cells = options.columns[c].cells;
        if (chunk->type_id() == arrow::Type::BINARY) {
          const auto& array = static_cast<const arrow::BinaryArray&>(*chunk);
          for (int64_t i = 0; i < array.length(); ++i) cells.push_back(array.GetView(i));
        } else if (chunk->type_id() == arrow::Type::LARGE_BINARY) {
          const auto& array = static_cast<const arrow::LargeBinaryArray&>(*chunk);
          for (int64_t i = 0; i < array.length(); ++i) cells.push_back(array.GetView(i));
        } else {
          Fail("column '" + options.columns[c].name + "' is not binary");
        }
      }
    }
    tables.push_back(*table);
  }
  for (const auto& column : options.columns) {
    if (column.cells.size() != options.columns[0].cells.size()) Fail("columns differ in length");
  }
  return tables;
}

// One thread's decoders and output buffers.
class Decoder {
 public:
  explicit Decoder(tjscalingfactor scale) : tj_(tjInitDecompress()), scale_(scale) {
    if (!tj_) Fail("tjInitDecompress failed");
  }
  ~Decoder() { tjDestroy(tj_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one cell into this thread's buffer for column `c`; returns the decoded size.
  size_t Decode(size_t c, Kind kind, std::string_view cell) {
    if (buffers_.size() <= c) buffers_.resize(c + 1);
    auto* data = reinterpret_cast<const unsigned char*>(cell.data());
    switch (kind) {
      case Kind::kPng:
        return DecodePng(buffers_[c], data, cell.size());
      case Kind::kJpeg:
        return DecodeJpeg(buffers_[c], data, cell.size());
      case Kind::kNpy:
        return DecodeNpy(buffers_[c], data, cell.size());
    }
    return 0;
  }

  uint64_t checksum() const { return checksum_; }

 private:
  static unsigned char* Reserve(std::vector<unsigned char>& buffer, size_t size) {
    if (buffer.size() < size) buffer.resize(size);
    return buffer.data();
  }

  size_t DecodePng(std::vector<unsigned char>& buffer, const unsigned char* data, size_t size) {
    spng_ctx* ctx = spng_ctx_new(0);
    if (!ctx) Fail("spng_ctx_new failed");
    size_t decoded = 0;
    int rc = spng_set_png_buffer(ctx, data, size);
    spng_ihdr ihdr{};
    if (rc == 0) rc = spng_get_ihdr(ctx, &ihdr);
    const int format = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ? SPNG_FMT_G8 : SPNG_FMT_RGB8;
    if (rc == 0) rc = spng_decoded_image_size(ctx, format, &decoded);
    if (rc == 0) rc = spng_decode_image(ctx, Reserve(buffer, decoded), decoded, format, 0);
    if (rc == 0) rc = spng_decode_chunks(ctx);  // as the core does: checks the last CRC
    spng_ctx_free(ctx);
    if (rc != 0) Fail(std::string("PNG decode failed: ") + spng_strerror(rc));
    checksum_ += buffer[decoded / 2];
    return decoded;
  }

  size_t DecodeJpeg(std::vector<unsigned char>& buffer, const unsigned char* data, size_t size) {
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj_, data, size, &width, &height, &subsampling, &colorspace) != 0) {
      Fail(std::string("JPEG header: ") + tjGetErrorStr2(tj_));
    }
    width = TJSCALED(width, scale_);
    height = TJSCALED(height, scale_);
    const bool gray = colorspace == TJCS_GRAY;
    const size_t decoded = static_cast<size_t>(width) * height * (gray ? 1 : 3);
    if (tjDecompress2(tj_, data, size, Reserve(buffer, decoded), width, 0, height,
                      gray ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
      Fail(std::string("JPEG decode failed: ") + tjGetErrorStr2(tj_));
    }
    checksum_ += buffer[decoded / 2];
    return decoded;
  }

  // .npy: magic, version, header length (2 bytes in 1.0, 4 in 2.0/3.0), header, payload.
  size_t DecodeNpy(std::vector<unsigned char>& buffer, const unsigned char* data, size_t size) {
    if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) Fail("not an .npy cell");
    size_t header_end;
    if (data[6] == 1) {
      header_end = 10 + (data[8] | (data[9] << 8));
    } else {
      if (size < 12) Fail("truncated .npy cell");
      header_end = 12 + (static_cast<size_t>(data[8]) | (data[9] << 8) | (data[10] << 16) |
                         (static_cast<size_t>(data[11]) << 24));
    }
    if (header_end > size) Fail("truncated .npy cell");
    const size_t decoded = size - header_end;
    std::memcpy(Reserve(buffer, decoded), data + header_end, decoded);
    checksum_ += decoded ? buffer[decoded / 2] : 0;
    return decoded;
  }

  tjhandle tj_;
  tjscalingfactor scale_;
  std::vector<std::vector<unsigned char>> buffers_;
  uint64_t checksum_ = 0;
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

struct RunResult {
  double wall = 0, cpu = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;
};

RunResult RunOnce(const Options& options) {
  const size_t rows = options.columns[0].cells.size();
  constexpr size_t kChunk = 8;
  std::atomic<size_t> next{0};
  std::vector<uint64_t> bytes(options.threads, 0), sums(options.threads, 0);
  std::vector<std::string> errors(options.threads);
  auto work = [&](int t) {
    try {
      Decoder decoder(options.scale);
      for (size_t start; (start = next.fetch_add(kChunk)) < rows;) {
        for (size_t r = start; r < std::min(rows, start + kChunk); ++r) {
          for (size_t c = 0; c < options.columns.size(); ++c) {
            bytes[t] += decoder.Decode(c, options.columns[c].kind, options.columns[c].cells[r]);
          }
        }
      }
      sums[t] = decoder.checksum();
    } catch (const std::exception& e) {
      errors[t] = e.what();
      next = rows;
    }
  };
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 1; t < options.threads; ++t) threads.emplace_back(work, t);
  work(0);
  for (auto& thread : threads) thread.join();
  RunResult result;
  result.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.cpu = CpuSeconds() - cpu0;
  for (int t = 0; t < options.threads; ++t) {
    if (!errors[t].empty()) Fail(errors[t]);
    result.bytes += bytes[t];
    result.checksum += sums[t];
  }
  return result;
}

std::string JsonList(const std::vector<double>& values) {
  std::ostringstream out;
  out.precision(9);
  out << '[';
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << ']';
  return out.str();
}

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    out += ch;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options = ParseArgs(argc, argv);
    auto tables = LoadColumns(options);
    const size_t rows = options.columns[0].cells.size();
    uint64_t checksum = 0;
    for (int i = 0; i < options.warmup; ++i) checksum += RunOnce(options).checksum;
    std::vector<double> walls, cpus, row_counts, byte_counts;
    for (int i = 0; i < options.runs; ++i) {
      RunResult run = RunOnce(options);
      walls.push_back(run.wall);
      cpus.push_back(run.cpu);
      row_counts.push_back(static_cast<double>(rows));
      byte_counts.push_back(static_cast<double>(run.bytes));
      checksum += run.checksum;
    }
    std::cout << "{\"status\": \"ok\", \"wall_s\": " << JsonList(walls)
              << ", \"cpu_s\": " << JsonList(cpus) << ", \"rows\": " << JsonList(row_counts)
              << ", \"bytes\": " << JsonList(byte_counts) << ", \"peak_rss_mb\": " << PeakRssMb()
              << ", \"threads\": " << options.threads << ", \"checksum\": " << checksum << "}"
              << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cout << "{\"status\": \"error\", \"reason\": \"" << JsonEscape(e.what()) << "\"}"
              << std::endl;
    return 1;
  }
}
