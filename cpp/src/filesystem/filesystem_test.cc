#include "petastorm/filesystem.h"

#include <arrow/filesystem/s3fs.h>
#include <gtest/gtest.h>

#include "util/test_macros_internal.h"

namespace petastorm {
namespace {

// S3 must be finalized before exit, as in any program that made an s3:// filesystem.
class FinalizeS3AtExit : public ::testing::Environment {
 public:
  void TearDown() override { FinalizeRemoteFileSystems(); }
};
[[maybe_unused]] ::testing::Environment* const kFinalize = ::testing::AddGlobalTestEnvironment(new FinalizeS3AtExit);

TEST(ResolveUrl, PlainPathsAndFileUrlsAreLocalWithoutTrailingSlash) {
  ASSERT_OK_AND_ASSIGN(auto a, ResolveUrl("file:///tmp/ds/"));
  EXPECT_EQ(a.filesystem->type_name(), "local");
  EXPECT_EQ(a.path, "/tmp/ds");
  ASSERT_OK_AND_ASSIGN(auto b, ResolveUrl("/tmp/x/../ds"));
  EXPECT_EQ(b.path, "/tmp/ds");
  EXPECT_TRUE(a.filesystem->Equals(*b.filesystem));
}

TEST(ResolveUrl, S3TakesArrowAndFsspecOptionNames) {
  StorageOptions options = {{"key", "AK"}, {"secret", "SK"}, {"client_kwargs.endpoint_url", "http://127.0.0.1:9"},
                            {"region_name", "eu-west-3"}, {"connect_timeout", "2.5"}};
  ASSERT_OK_AND_ASSIGN(auto s3a, ResolveUrl("s3a://bucket/dir/ds/", options));
  EXPECT_EQ(s3a.filesystem->type_name(), "s3");
  EXPECT_EQ(s3a.path, "bucket/dir/ds");
  auto s3_options = std::static_pointer_cast<arrow::fs::S3FileSystem>(s3a.filesystem)->options();
  EXPECT_EQ(s3_options.endpoint_override, "127.0.0.1:9");
  EXPECT_EQ(s3_options.scheme, "http");
  EXPECT_EQ(s3_options.region, "eu-west-3");
  EXPECT_EQ(s3_options.GetAccessKey(), "AK");
  EXPECT_EQ(s3_options.connect_timeout, 2.5);
  EXPECT_EQ(s3_options.request_timeout, kDefaultS3RequestTimeoutSeconds);
  // The query string is options too, in the same vocabulary.
  ASSERT_OK_AND_ASSIGN(auto q, ResolveUrl("s3://bucket/ds?region=us-west-2&endpoint_override=127.0.0.1:9&scheme=http"));
  EXPECT_EQ(std::static_pointer_cast<arrow::fs::S3FileSystem>(q.filesystem)->options().region, "us-west-2");
  EXPECT_EQ(q.path, "bucket/ds");
}

TEST(ResolveUrl, EmptyCredentialOptionsAreUnset) {
  ASSERT_OK_AND_ASSIGN(auto loc, ResolveUrl("s3://bucket/ds", {{"endpoint_override", "127.0.0.1:9"}, {"role_arn", ""},
                                                               {"region", "us-east-1"}}));
  auto options = std::static_pointer_cast<arrow::fs::S3FileSystem>(loc.filesystem)->options();
  EXPECT_EQ(options.credentials_kind, arrow::fs::S3CredentialsKind::Default);
}

TEST(ResolveUrl, AnUnknownOptionIsAnErrorNamingItTheUrlAndTheKnownOnes) {
  auto r = ResolveUrl("s3://bucket/ds", {{"endpoint_override", "127.0.0.1:9"}, {"regoin", "x"}});
  ASSERT_TRUE(r.status().IsInvalid());
  EXPECT_NE(r.status().message().find("'regoin'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("s3://bucket/ds"), std::string::npos);
  EXPECT_NE(r.status().message().find("endpoint_override"), std::string::npos);
  auto local = ResolveUrl("file:///tmp/ds", {{"anon", "true"}});
  ASSERT_TRUE(local.status().IsInvalid());
  EXPECT_NE(local.status().message().find("'anon'"), std::string::npos);
}

TEST(ResolveUrl, MalformedValuesNameTheOption) {
  auto r = ResolveUrl("s3://bucket/ds", {{"endpoint_override", "127.0.0.1:9"}, {"request_timeout", "soon"}});
  ASSERT_TRUE(r.status().IsInvalid());
  EXPECT_NE(r.status().message().find("request_timeout"), std::string::npos) << r.status().message();
  auto b = ResolveUrl("s3://bucket/ds", {{"endpoint_override", "127.0.0.1:9"}, {"anon", "maybe"}});
  ASSERT_TRUE(b.status().IsInvalid());
  auto half = ResolveUrl("s3://bucket/ds", {{"endpoint_override", "127.0.0.1:9"}, {"access_key", "a"}});
  ASSERT_TRUE(half.status().IsInvalid());
  EXPECT_NE(half.status().message().find("secret_key"), std::string::npos);
}

TEST(ResolveUrl, GcsPathsAreBucketAndKey) {
  ASSERT_OK_AND_ASSIGN(auto g, ResolveUrl("gs://bucket/a/b", {{"anon", "true"}, {"endpoint_override", "http://127.0.0.1:9"}}));
  EXPECT_EQ(g.filesystem->type_name(), "gcs");
  EXPECT_EQ(g.path, "bucket/a/b");
}

TEST(ResolveUrl, HdfsWithoutLibhdfsSaysWhatToInstall) {
  auto r = ResolveUrl("hdfs://namenode:8020/ds");
  if (r.ok()) GTEST_SKIP() << "libhdfs and a JVM are installed here";
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("hdfs://namenode:8020/ds"), std::string::npos);
  EXPECT_NE(r.status().message().find("ARROW_LIBHDFS_DIR"), std::string::npos);
  EXPECT_NE(r.status().message().find("CLASSPATH"), std::string::npos);
}

TEST(ResolveUrl, AnUnknownSchemeIsNotImplementedNamingIt) {
  auto r = ResolveUrl("nosuch://x/y");
  ASSERT_TRUE(r.status().IsNotImplemented()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("'nosuch'"), std::string::npos);
  EXPECT_FALSE(ResolveUrl("").ok());
}

}  // namespace
}  // namespace petastorm
