// Mutual TLS between ledgerd processes: a test CA made with the openssl CLI
// at test time; nodes with certificates naming their market converge, and a
// peer without a certificate, with one from another CA, or with another
// market's certificate is refused while the honest peers keep syncing.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/federation_harness.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using test::FederationHarness;

// Runs an openssl command in `dir`; fails the test on error.
void OpenSsl(const std::string& dir, const std::string& arguments) {
  std::string output;
  int status = test::RunCommand("cd " + dir + " && openssl " + arguments, &output);
  ASSERT_EQ(status, 0) << "openssl " << arguments << "\n" << output;
}

// A CA (ca_name.crt/.key) in dir.
void MakeCa(const std::string& dir, const std::string& ca_name) {
  OpenSsl(dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" +
                   ca_name + " -keyout " + ca_name + ".key -out " + ca_name + ".crt");
}

// A certificate for common name `cn` signed by the CA, as file_prefix.crt/.key.
void MakeCert(const std::string& dir, const std::string& ca_name, const std::string& cn,
              const std::string& file_prefix) {
  OpenSsl(dir, "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + cn +
                   " -keyout " + file_prefix + ".key -out " + file_prefix + ".csr");
  OpenSsl(dir, "x509 -req -in " + file_prefix + ".csr -CA " + ca_name + ".crt -CAkey " + ca_name +
                   ".key -CAcreateserial -days 2 -out " + file_prefix + ".crt");
}

std::string TlsJson(const std::string& prefix, const std::string& ca_name) {
  return R"({"tls":{"cert":")" + prefix + R"(.crt","key":")" + prefix + R"(.key","ca":")" +
         ca_name + R"(.crt"}})";
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
  test::TempDir dir_;
};

// Two markets with certificates from the federation CA converge over mutual
// TLS.
TEST_F(TlsTest, MutualTlsPeersConverge) {
  FederationHarness federation(dir_.path(), {"xining", "xian"});
  MakeCa(dir_.path(), "ca");
  MakeCert(dir_.path(), "ca", "xining.techmarket.test", "xining-tls");
  MakeCert(dir_.path(), "ca", "xian.techmarket.test", "xian-tls");
  federation.SetPartners(1, {0});
  federation.AppendOffline(0, {test::ContractJson("XN-1"), test::ContractJson("XN-2")});
  federation.AppendOffline(1, {test::ContractJson("XA-1")});
  federation.WriteConfigs({{0, TlsJson("xining-tls", "ca")}, {1, TlsJson("xian-tls", "ca")}});
  federation.Start(0);
  federation.Start(1);
  ASSERT_TRUE(federation.WaitForSizes({{"xining", 2}, {"xian", 1}}, 30))
      << federation.ProcessLog(1);
  federation.Stop(0);
  federation.Stop(1);
  EXPECT_EQ(federation.Snapshot(0), federation.Snapshot(1));
  EXPECT_NE(federation.ProcessLog(0).find("mutual TLS"), std::string::npos);
}

// Three bad peers dial xining: one with a certificate from another CA, one
// presenting xian's certificate while claiming to be lanzhou, one without TLS
// at all. None gets xining's log; xian, with a good certificate, does.
TEST_F(TlsTest, BadCertificatesAreRefused) {
  FederationHarness federation(dir_.path(), {"xining", "xian", "lanzhou", "wuhan", "ningbo"});
  MakeCa(dir_.path(), "ca");
  MakeCa(dir_.path(), "rogue");
  MakeCert(dir_.path(), "ca", "xining.techmarket.test", "xining-tls");
  MakeCert(dir_.path(), "ca", "xian.techmarket.test", "xian-tls");
  MakeCert(dir_.path(), "rogue", "wuhan.techmarket.test", "wuhan-tls");
  for (size_t i = 1; i < 5; ++i) federation.SetPartners(i, {0});
  federation.AppendOffline(0, {test::ContractJson("XN-1")});
  federation.WriteConfigs({{0, TlsJson("xining-tls", "ca")},
                           {1, TlsJson("xian-tls", "ca")},
                           {2, TlsJson("xian-tls", "ca")},        // another market's certificate
                           {3, TlsJson("wuhan-tls", "rogue")}});  // 4 (ningbo): no TLS
  for (size_t i = 0; i < 5; ++i) federation.Start(i);
  for (int i = 0; i < 150 && federation.StatusSize(1, "xining") != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(federation.StatusSize(1, "xining"), 1u) << federation.ProcessLog(1);
  // Give the bad peers time for several attempts.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(federation.StatusSize(i, "xining"), 0u) << federation.market(i);
  }
  std::string log = federation.ProcessLog(0);
  EXPECT_NE(log.find("certificate names \"xian.techmarket.test\", but market lanzhou"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("TLS handshake"), std::string::npos) << log;
  for (size_t i = 0; i < 5; ++i) federation.Stop(i);
}

}  // namespace
}  // namespace ledger
