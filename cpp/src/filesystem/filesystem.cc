#include "petastorm/filesystem.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string_view>

#include <arrow/filesystem/gcsfs.h>
#include <arrow/filesystem/hdfs.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/uri.h>

#include "util/recycling_pool_internal.h"

namespace petastorm {

const char kHdfsSetupHelp[] =
    "hdfs:// is read through Arrow's HadoopFileSystem, which loads libhdfs.so and starts a JVM: "
    "install a Java runtime and set JAVA_HOME; install Hadoop and set HADOOP_HOME (libhdfs.so is "
    "looked for in $HADOOP_HOME/lib/native), or set ARROW_LIBHDFS_DIR to the directory holding "
    "libhdfs.so; set CLASSPATH=$($HADOOP_HOME/bin/hdfs classpath --glob); and HADOOP_CONF_DIR to "
    "the cluster's configuration (core-site.xml, hdfs-site.xml)";

namespace {

namespace fs = arrow::fs;

// The options of one URL: the query string's items, then the caller's (later ones win). Each
// Take marks the keys it read; Finish says which were not understood.
class OptionReader {
 public:
  OptionReader(std::string url, std::string scheme, StorageOptions options)
      : url_(std::move(url)), scheme_(std::move(scheme)), options_(std::move(options)),
        used_(options_.size(), false) {}

  std::optional<std::string> Take(std::initializer_list<std::string_view> keys) {
    std::optional<std::string> value;
    for (size_t i = 0; i < options_.size(); ++i) {
      for (std::string_view key : keys) {
        if (options_[i].first == key) {
          used_[i] = true;
          value = options_[i].second;
        }
      }
    }
    for (std::string_view key : keys) known_.emplace_back(key);
    return value;
  }

  arrow::Result<std::optional<bool>> TakeBool(std::initializer_list<std::string_view> keys) {
    auto text = Take(keys);
    if (!text) return std::optional<bool>();
    std::string v = *text;
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "true" || v == "1" || v == "yes") return std::optional<bool>(true);
    if (v == "false" || v == "0" || v == "no" || v.empty()) return std::optional<bool>(false);
    return Bad(keys, *text, "true or false");
  }

  arrow::Result<std::optional<double>> TakeNumber(std::initializer_list<std::string_view> keys) {
    auto text = Take(keys);
    if (!text) return std::optional<double>();
    double v = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || end != text->data() + text->size() || v < 0) {
      return Bad(keys, *text, "a non-negative number");
    }
    return std::optional<double>(v);
  }

  // The keys that start with `prefix` (extra_conf.dfs.replication -> dfs.replication).
  std::vector<std::pair<std::string, std::string>> TakePrefixed(std::string_view prefix) {
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < options_.size(); ++i) {
      if (options_[i].first.starts_with(prefix)) {
        used_[i] = true;
        out.emplace_back(options_[i].first.substr(prefix.size()), options_[i].second);
      }
    }
    known_.push_back(std::string(prefix) + "*");
    return out;
  }

  arrow::Status Finish() const {
    for (size_t i = 0; i < options_.size(); ++i) {
      if (used_[i]) continue;
      std::string known;
      for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
      return arrow::Status::Invalid("storage option '", options_[i].first, "' is not understood for ", scheme_,
                                    ":// ('", url_, "'); the options of ", scheme_, ":// are: ", known);
    }
    return arrow::Status::OK();
  }

  const std::string& url() const { return url_; }

 private:
  arrow::Status Bad(std::initializer_list<std::string_view> keys, const std::string& value, const char* want) {
    return arrow::Status::Invalid("storage option '", *keys.begin(), "' of '", url_, "' must be ", want, ", got '",
                                  value, "'");
  }
  std::string url_;
  std::string scheme_;
  StorageOptions options_;
  std::vector<bool> used_;
  std::vector<std::string> known_;
};

// "http://host:port" -> ("http", "host:port"); "host:port" -> ("", "host:port").
std::pair<std::string, std::string> SplitEndpoint(std::string endpoint) {
  std::string scheme;
  if (auto at = endpoint.find("://"); at != std::string::npos) {
    scheme = endpoint.substr(0, at);
    endpoint = endpoint.substr(at + 3);
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return {scheme, endpoint};
}

std::string StripSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// bucket + path, the form Arrow's S3 and GCS filesystems take.
std::string BucketPath(const arrow::util::Uri& uri) {
  std::string path = uri.host() + uri.path();
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

arrow::Result<std::shared_ptr<fs::FileSystem>> MakeS3(const arrow::util::Uri& uri, OptionReader& o) {
  ARROW_RETURN_NOT_OK(fs::EnsureS3Initialized());
  fs::S3Options s = fs::S3Options::Defaults();
  auto access = o.Take({"access_key", "key", "aws_access_key_id"});
  auto secret = o.Take({"secret_key", "secret", "aws_secret_access_key"});
  auto token = o.Take({"session_token", "token", "aws_session_token"});
  if (!uri.username().empty()) {
    access = uri.username();
    secret = uri.password();
  }
  ARROW_ASSIGN_OR_RAISE(auto anonymous, o.TakeBool({"anonymous", "anon"}));
  auto role_arn = o.Take({"role_arn"});
  auto session_name = o.Take({"session_name"});
  auto external_id = o.Take({"external_id"});
  ARROW_ASSIGN_OR_RAISE(auto load_frequency, o.TakeNumber({"load_frequency"}));
  if (access.has_value() != secret.has_value()) {
    return arrow::Status::Invalid("storage options of '", o.url(), "': access_key and secret_key go together");
  }
  // Empty values are unset (a pickled pyarrow S3FileSystem carries role_arn='').
  if (anonymous.value_or(false)) {
    s.ConfigureAnonymousCredentials();
  } else if (access && !access->empty()) {
    s.ConfigureAccessKey(*access, *secret, token.value_or(""));
  } else if (role_arn && !role_arn->empty()) {
    s.ConfigureAssumeRoleCredentials(*role_arn, session_name.value_or(""), external_id.value_or(""),
                                     static_cast<int>(load_frequency.value_or(900)));
  }
  if (auto region = o.Take({"region", "region_name", "client_kwargs.region_name"})) s.region = *region;
  if (auto endpoint = o.Take({"endpoint_override", "endpoint_url", "client_kwargs.endpoint_url"})) {
    auto [scheme, host] = SplitEndpoint(*endpoint);
    s.endpoint_override = host;
    if (!scheme.empty()) s.scheme = scheme;
  }
  if (s.endpoint_override.empty()) {
    // The AWS SDKs' variables, as Arrow's own URI factory reads them.
    for (const char* var : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
      const char* value = std::getenv(var);
      if (value == nullptr || *value == '\0') continue;
      auto [scheme, host] = SplitEndpoint(value);
      s.endpoint_override = host;
      if (!scheme.empty()) s.scheme = scheme;
      break;
    }
  }
  if (auto scheme = o.Take({"scheme"})) s.scheme = *scheme;
  ARROW_ASSIGN_OR_RAISE(auto use_ssl, o.TakeBool({"use_ssl"}));
  if (use_ssl.has_value()) s.scheme = *use_ssl ? "https" : "http";
  ARROW_ASSIGN_OR_RAISE(auto connect, o.TakeNumber({"connect_timeout"}));
  ARROW_ASSIGN_OR_RAISE(auto request, o.TakeNumber({"request_timeout"}));
  ARROW_ASSIGN_OR_RAISE(auto attempts, o.TakeNumber({"retry_max_attempts"}));
  s.connect_timeout = connect.value_or(kDefaultS3ConnectTimeoutSeconds);
  s.request_timeout = request.value_or(kDefaultS3RequestTimeoutSeconds);
  s.retry_strategy = fs::S3RetryStrategy::GetAwsStandardRetryStrategy(
      static_cast<int64_t>(std::max(1.0, attempts.value_or(kDefaultS3RetryMaxAttempts))));
  struct Flag {
    std::string_view key;
    bool* field;
  };
  for (Flag flag : {Flag{"force_virtual_addressing", &s.force_virtual_addressing},
                    Flag{"allow_bucket_creation", &s.allow_bucket_creation},
                    Flag{"allow_bucket_deletion", &s.allow_bucket_deletion},
                    Flag{"background_writes", &s.background_writes},
                    Flag{"check_directory_existence_before_creation", &s.check_directory_existence_before_creation},
                    Flag{"tls_verify_certificates", &s.tls_verify_certificates}}) {
    ARROW_ASSIGN_OR_RAISE(auto v, o.TakeBool({flag.key}));
    if (v) *flag.field = *v;
  }
  if (auto ca = o.Take({"tls_ca_file_path"})) s.tls_ca_file_path = *ca;
  if (auto proxy = o.Take({"proxy_options"})) {
    ARROW_ASSIGN_OR_RAISE(s.proxy_options, fs::S3ProxyOptions::FromUri(*proxy));
  }
  ARROW_RETURN_NOT_OK(o.Finish());
  if (s.region.empty() && s.endpoint_override.empty() && !std::getenv("AWS_DEFAULT_REGION") &&
      !std::getenv("AWS_REGION")) {
    // As Arrow's own URI factory: a bucket on AWS is asked where it lives.
    ARROW_ASSIGN_OR_RAISE(s.region, fs::ResolveS3BucketRegion(uri.host()));
  }
  return fs::S3FileSystem::Make(s, arrow::io::default_io_context());
}

arrow::Result<std::shared_ptr<fs::FileSystem>> MakeGcs(OptionReader& o) {
  ARROW_ASSIGN_OR_RAISE(auto anonymous, o.TakeBool({"anonymous", "anon"}));
  auto token = o.Take({"access_token", "token"});
  auto json = o.Take({"json_credentials", "credentials"});
  fs::GcsOptions g = fs::GcsOptions::Defaults();
  if (anonymous.value_or(false) || token == "anon") {
    g = fs::GcsOptions::Anonymous();
  } else if (json) {
    g = fs::GcsOptions::FromServiceAccountCredentials(*json);
  } else if (token && *token != "google_default" && *token != "cloud") {
    std::error_code ec;
    if (std::filesystem::is_regular_file(*token, ec)) {
      // gcsfs's token= may name a service-account JSON file.
      std::ifstream in(*token);
      std::stringstream text;
      text << in.rdbuf();
      g = fs::GcsOptions::FromServiceAccountCredentials(text.str());
    } else {
      g = fs::GcsOptions::FromAccessToken(*token, fs::TimePoint::max());
    }
  }
  if (auto endpoint = o.Take({"endpoint_override", "endpoint_url"})) {
    auto [scheme, host] = SplitEndpoint(*endpoint);
    g.endpoint_override = host;
    if (!scheme.empty()) g.scheme = scheme;
  }
  if (auto scheme = o.Take({"scheme"})) g.scheme = *scheme;
  if (auto project = o.Take({"project_id", "project"})) g.project_id = *project;
  if (auto location = o.Take({"default_bucket_location", "location"})) g.default_bucket_location = *location;
  ARROW_ASSIGN_OR_RAISE(auto retry, o.TakeNumber({"retry_limit_seconds", "retry_time_limit"}));
  g.retry_limit_seconds = retry.value_or(kDefaultRemoteRetrySeconds);
  ARROW_RETURN_NOT_OK(o.Finish());
  ARROW_ASSIGN_OR_RAISE(auto gcs, fs::GcsFileSystem::Make(g, arrow::io::default_io_context()));
  return std::static_pointer_cast<fs::FileSystem>(gcs);
}

arrow::Result<std::shared_ptr<fs::FileSystem>> MakeHdfs(const std::string& url, OptionReader& o) {
  ARROW_ASSIGN_OR_RAISE(auto h, fs::HdfsOptions::FromUri(url));
  std::string host = h.host();
  int port = h.port();
  if (auto v = o.Take({"host"})) host = *v;
  ARROW_ASSIGN_OR_RAISE(auto port_option, o.TakeNumber({"port"}));
  if (port_option) port = static_cast<int>(*port_option);
  // No namenode in the URL: libhdfs's "default" is fs.defaultFS of the Hadoop configuration.
  if (host.empty()) host = "default";
  h.ConfigureEndPoint(host, port);
  if (auto v = o.Take({"user"})) h.ConfigureUser(*v);
  if (auto v = o.Take({"kerb_ticket", "kerberos_ticket_cache_path"})) h.ConfigureKerberosTicketCachePath(*v);
  ARROW_ASSIGN_OR_RAISE(auto replication, o.TakeNumber({"replication"}));
  if (replication) h.ConfigureReplication(static_cast<int16_t>(*replication));
  ARROW_ASSIGN_OR_RAISE(auto buffer_size, o.TakeNumber({"buffer_size"}));
  if (buffer_size) h.ConfigureBufferSize(static_cast<int32_t>(*buffer_size));
  ARROW_ASSIGN_OR_RAISE(auto block_size, o.TakeNumber({"default_block_size"}));
  if (block_size) h.ConfigureBlockSize(static_cast<int64_t>(*block_size));
  for (auto& [key, value] : o.TakePrefixed("extra_conf.")) h.ConfigureExtraConf(key, value);
  ARROW_RETURN_NOT_OK(o.Finish());
  auto made = fs::HadoopFileSystem::Make(h, arrow::io::default_io_context());
  if (!made.ok()) {
    return arrow::Status::IOError("Cannot connect to HDFS at '", url, "': ", made.status().message(), ". ",
                                  kHdfsSetupHelp);
  }
  return std::static_pointer_cast<fs::FileSystem>(*made);
}

arrow::Result<StorageLocation> Resolve(const std::string& url, const StorageOptions& options) {
  if (url.empty()) return arrow::Status::Invalid("The dataset URL is empty");
  StorageLocation out;
  out.url = url;
  if (url.find("://") == std::string::npos) {
    // A plain local path; Arrow wants it absolute.
    out.path = StripSlashes(std::filesystem::absolute(url).lexically_normal().string());
    if (!options.empty()) return OptionReader(url, "file", options).Finish();
    out.filesystem = LocalFileSystem();
    return out;
  }
  arrow::util::Uri uri;
  ARROW_RETURN_NOT_OK(uri.Parse(url));
  std::string scheme = uri.scheme();
  StorageOptions all;
  if (scheme != "file" && scheme != "hdfs" && scheme != "viewfs") {
    // Query items are options (s3://bucket/ds?region=eu-west-1); HDFS parses its own.
    ARROW_ASSIGN_OR_RAISE(all, uri.query_items());
  }
  all.insert(all.end(), options.begin(), options.end());
  if (scheme == "file") {
    if (!all.empty()) ARROW_RETURN_NOT_OK(OptionReader(url, "file", all).Finish());
    out.path = StripSlashes(uri.path());
    out.filesystem = LocalFileSystem();
  } else if (scheme == "s3" || scheme == "s3a" || scheme == "s3n") {
    OptionReader o(url, scheme, all);
    ARROW_ASSIGN_OR_RAISE(out.filesystem, MakeS3(uri, o));
    out.path = BucketPath(uri);
  } else if (scheme == "gs" || scheme == "gcs") {
    OptionReader o(url, scheme, all);
    ARROW_ASSIGN_OR_RAISE(out.filesystem, MakeGcs(o));
    out.path = BucketPath(uri);
  } else if (scheme == "hdfs" || scheme == "viewfs") {
    OptionReader o(url, scheme, options);
    ARROW_ASSIGN_OR_RAISE(out.filesystem, MakeHdfs(url, o));
    out.path = StripSlashes(uri.path().empty() ? "/" : uri.path());
  } else {
    if (!options.empty()) ARROW_RETURN_NOT_OK(OptionReader(url, scheme, options).Finish());
    auto made = fs::FileSystemFromUri(url, &out.path);
    if (!made.ok()) {
      return arrow::Status::NotImplemented("No filesystem for the scheme '", scheme, "' of '", url,
                                           "' (", made.status().message(),
                                           "); pass filesystem= (a pyarrow or fsspec filesystem)");
    }
    out.filesystem = *made;
    out.path = StripSlashes(out.path);
  }
  return out;
}

}  // namespace

std::shared_ptr<arrow::fs::FileSystem> LocalFileSystem() {
  static const auto* local = new std::shared_ptr<arrow::fs::FileSystem>(std::make_shared<fs::LocalFileSystem>(
      fs::LocalFileSystemOptions::Defaults(), arrow::io::IOContext(internal::RecyclingMemoryPool::ForLocalReads())));
  return *local;
}

arrow::Result<StorageLocation> ResolveUrl(const std::string& url, const StorageOptions& options) {
  auto resolved = Resolve(url, options);
  if (!resolved.ok() && resolved.status().message().find(url) == std::string::npos) {
    return resolved.status().WithMessage("Cannot open a filesystem for '", url, "': ", resolved.status().message());
  }
  return resolved;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUrl(const std::string& url, std::string* path,
                                                                       const StorageOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto location, ResolveUrl(url, options));
  *path = std::move(location.path);
  return std::move(location.filesystem);
}

void FinalizeRemoteFileSystems() {
  if (fs::IsS3Initialized()) (void)fs::EnsureS3Finalized();
}

}  // namespace petastorm
