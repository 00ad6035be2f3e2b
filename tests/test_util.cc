#include "tests/test_util.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "ledger/crypto.h"
#include "ledger/entry_json.h"

namespace ledger::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ledger-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ContractJson(const std::string& contract_id, const std::string& contract_amount,
                         const std::string& tech_amount, const std::string& signed_on) {
  return R"({"event":"ContractRegistered","contract_id":")" + contract_id +
         R"(","registration_no":"2021630100000001","type":"development","subtype":"commissioned",)"
         R"("title":"高原特色生物资源提取工艺","field":"biomedicine",)"
         R"("seller":{"name":"青海大学","entity":"university","region":"630100"},)"
         R"("buyer":{"name":"某生物科技有限公司","entity":"enterprise","region":"420100"},)"
         R"("contract_amount":")" +
         contract_amount + R"(","tech_amount":")" + tech_amount + R"(","signed_on":")" + signed_on +
         R"("})";
}

std::string PaymentJson(const std::string& contract_id, const std::string& amount,
                        const std::string& paid_on) {
  return R"({"event":"PaymentReceived","contract_id":")" + contract_id + R"(","amount":")" +
         amount + R"(","paid_on":")" + paid_on + R"("})";
}

std::string AmendJson(const std::string& contract_id, const std::string& contract_amount,
                      const std::string& tech_amount) {
  return R"({"event":"ContractAmended","contract_id":")" + contract_id +
         R"(","contract_amount":")" + contract_amount + R"(","tech_amount":")" + tech_amount +
         R"(","reason":"scope extended","amended_on":"2021-11-01"})";
}

std::string TerminateJson(const std::string& contract_id) {
  return R"({"event":"ContractTerminated","contract_id":")" + contract_id +
         R"(","reason":"buyer withdrew","terminated_on":"2021-12-01"})";
}

std::string DealJson(const std::string& deal_id) {
  return R"({"event":"TransferDealSigned","deal_id":")" + deal_id +
         R"(","achievement_title":"枸杞多糖提纯技术","mode":"license",)"
         R"("institution":{"name":"中国科学院西北高原生物研究所","entity":"research_institute","region":"630100"},)"
         R"("enterprise":{"name":"青海某药业有限公司","entity":"enterprise","region":"630100"},)"
         R"("amount":"300000.00","signed_on":"2021-07-01"})";
}

std::string MatchmakingJson(const std::string& matchmaking_id) {
  return R"({"event":"MatchmakingHeld","matchmaking_id":")" + matchmaking_id +
         R"(","name":"西宁—武汉科技成果对接会","kind":"matchmaking","markets":["xining","wuhan"],)"
         R"("held_on":"2021-06-18"})";
}

std::string Entry(const std::string& json) {
  JsonOptions options;
  options.recorded_at_ms = 1632787200000;
  options.default_actor = "test";
  StatusOr<std::string> bytes = EntryFromJson(json, options);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString() << "\n" << json;
  return bytes.ok() ? *bytes : std::string();
}

std::unique_ptr<Log> InitAndOpen(const std::string& dir) {
  StatusOr<std::string> vkey = Log::Init(dir, "xining", "techmarket.cn/xining");
  EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
  StatusOr<std::unique_ptr<Log>> log = Log::Open(dir, LogOptions());
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

std::string ColumnsDigest(const Store& store, const std::vector<Column>& columns) {
  std::string all;
  for (Column column : columns) {
    rocksdb::ReadOptions options;
    options.total_order_seek = true;  // hashed memtables iterate only so
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(options, store.handle(column)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      all += std::to_string(it->key().size()) + ":" + it->key().ToString();
      all += std::to_string(it->value().size()) + ":" + it->value().ToString();
    }
    EXPECT_TRUE(it->status().ok());
    all += "|";
  }
  return HexEncode(AsBytes(Sha256(all)));
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    if (output != nullptr) output->append(buffer, n);
  }
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ToolPath(const std::string& tool) { return std::string(LEDGER_TOOLS_DIR) + "/" + tool; }

nlohmann::json TotalsAnswer(const Log& log, std::vector<Dimension> by, bool deals) {
  TotalsQuery query;
  query.by = std::move(by);
  query.deals = deals;
  StatusOr<TotalsResult> result = log.Totals(query);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? nlohmann::json::parse(TotalsJson(*result)) : nlohmann::json();
}

audit::Published PublishedBy(const Log& log) {
  using D = Dimension;
  return {TotalsAnswer(log, {D::kMarket, D::kMonth, D::kType, D::kField}, false),
          TotalsAnswer(log, {D::kMarket, D::kMonth, D::kSellerRegion, D::kBuyerRegion}, false),
          TotalsAnswer(log, {D::kMarket, D::kMonth, D::kMode}, true),
          TotalsAnswer(log, {D::kMarket, D::kMonth, D::kRound}, false),
          TotalsAnswer(log, {D::kMarket, D::kMonth, D::kRound}, true)};
}

}  // namespace ledger::test
