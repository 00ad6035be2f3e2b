#include "ledger/csv.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/entry_json.h"
#include "ledger/validate.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

using Json = nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

struct ReadResult {
  Rows rows;
  std::vector<int64_t> line_numbers;
  Status error;  // the first error, if any
};

// Reads all records, stopping at the first error.
ReadResult ReadAll(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(&in);
  ReadResult result;
  CsvRecord record;
  for (;;) {
    StatusOr<bool> more = reader.Next(&record);
    if (!more.ok()) {
      result.error = more.status();
      return result;
    }
    if (!*more) return result;
    result.rows.push_back(record.fields);
    result.line_numbers.push_back(record.line_number);
  }
}

// Plain records split at commas, with empty fields kept and the line where
// each record starts.
TEST(CsvReaderTest, PlainRecords) {
  ReadResult result = ReadAll("a,b,c\n1,,3\n,,\nx,y,z");
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  EXPECT_EQ(result.rows, (Rows{{"a", "b", "c"}, {"1", "", "3"}, {"", "", ""}, {"x", "y", "z"}}));
  EXPECT_EQ(result.line_numbers, (std::vector<int64_t>{1, 2, 3, 4}));
}

// Quoted fields keep commas, doubled quotes and line breaks, and later line
// numbers count the lines inside them.
TEST(CsvReaderTest, QuotedFields) {
  ReadResult result = ReadAll(
      "id,title\n"
      "1,\"a, b\"\n"
      "2,\"say \"\"hi\"\"\"\n"
      "3,\"two\nlines\"\n"
      "4,\"\"\n"
      "5,\"crlf\r\ninside\"\n"
      "6,\"\"\"\"\n");
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  EXPECT_EQ(result.rows, (Rows{{"id", "title"},
                               {"1", "a, b"},
                               {"2", "say \"hi\""},
                               {"3", "two\nlines"},
                               {"4", ""},
                               {"5", "crlf\r\ninside"},
                               {"6", "\""}}));
  EXPECT_EQ(result.line_numbers, (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 9}));
}

// CRLF, LF and lone CR all end records; a byte order mark at the start is
// skipped; blank lines are skipped and counted.
TEST(CsvReaderTest, LineEndsByteOrderMarkAndBlankLines) {
  ReadResult result = ReadAll("\xEF\xBB\xBFh1,h2\r\n1,2\r\n\r\n\n3,4\r5,6\r\n");
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  EXPECT_EQ(result.rows, (Rows{{"h1", "h2"}, {"1", "2"}, {"3", "4"}, {"5", "6"}}));
  EXPECT_EQ(result.line_numbers, (std::vector<int64_t>{1, 2, 5, 6}));
}

// Only a whole byte order mark is skipped: bytes that merely start like one
// are data, and one later in the file is data too.
TEST(CsvReaderTest, PartialByteOrderMarkIsData) {
  ReadResult result = ReadAll("\xEF\xBBx,y\n\xEF\xBB\xBF,z\n");
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  EXPECT_EQ(result.rows, (Rows{{"\xEF\xBBx", "y"}, {"\xEF\xBB\xBF", "z"}}));
  EXPECT_TRUE(ReadAll("").rows.empty());
  EXPECT_TRUE(ReadAll("\xEF\xBB\xBF").rows.empty());
}

// Syntax errors name the line: where an unterminated quote opened, or where
// a stray quote sits.
TEST(CsvReaderTest, SyntaxErrorsNameTheLine) {
  struct Case {
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {"a,b\n1,2\n3,\"open\nstill open\n", "line 3: unterminated quoted field"},
      {"a,b\n1,x\"y\n", "line 2: quote inside an unquoted field"},
      {"a,b\n1, \"y\"\n", "line 2: quote inside an unquoted field"},
      {"a,b\n1,\"y\"z\n", "line 2: unexpected character after a closing quote"},
      {"a,b\n1,\"multi\nline\" z\n", "line 3: unexpected character after a closing quote"},
      {"a,b\n1,2\n1,2,3\n", "line 3: 3 fields, the header has 2"},
      {"a,b\n1,\"x\ny\"\n1\n", "line 4: 1 fields, the header has 2"},
  };
  for (const Case& c : cases) {
    ReadResult result = ReadAll(c.text);
    ASSERT_FALSE(result.error.ok()) << c.text;
    EXPECT_EQ(result.error.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(result.error.message().rfind(c.message, 0), 0u)
        << c.text << ": got \"" << result.error.message() << "\"";
  }
}

// A record with the wrong number of fields can be skipped, but a syntax error
// stops the reader for good.
TEST(CsvReaderTest, ErrorRecovery) {
  std::istringstream in("a,b\n1\n2,3\n\"x\n");
  CsvReader reader(&in);
  CsvRecord record;
  ASSERT_TRUE(reader.Next(&record).value());
  EXPECT_FALSE(reader.Next(&record).ok());
  ASSERT_TRUE(reader.Next(&record).value());
  EXPECT_EQ(record.fields, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(record.line_number, 3);
  Status first = reader.Next(&record).status();
  EXPECT_EQ(first.message(), "line 4: unterminated quoted field");
  EXPECT_EQ(reader.Next(&record).status().message(), first.message());
}

// Records over the byte or field limits are refused rather than buffered.
TEST(CsvReaderTest, Limits) {
  ReadResult result = ReadAll("\"" + std::string(kCsvRecordBytesMax + 1, 'x') + "\"\n");
  EXPECT_EQ(result.error.message().rfind("line 1: record longer than", 0), 0u)
      << result.error.ToString();
  result = ReadAll(std::string(kCsvFieldsCountMax, ',') + "\n");
  EXPECT_EQ(result.error.message().rfind("line 1: more than 256 fields", 0), 0u)
      << result.error.ToString();
  result = ReadAll(std::string(kCsvFieldsCountMax - 1, ',') + "\n");
  EXPECT_TRUE(result.error.ok());
}

const std::vector<std::string> kHeader = {
    "contract_id",     "registration_no", "type",         "subtype",
    "title",           "field",           "seller_name",  "seller_entity",
    "seller_region",   "buyer_name",      "buyer_entity", "buyer_region",
    "contract_amount", "tech_amount",     "signed_on",    "ip_types",
    "matchmaking_id",  "request_id",      "actor"};

std::vector<std::string> DesignRow() {
  return {"XN-2021-0001",
          "2021630100000001",
          "development",
          "commissioned",
          "高原特色生物资源提取工艺",
          "biomedicine",
          "青海大学",
          "university",
          "630100",
          "某生物科技有限公司",
          "enterprise",
          "630100",
          "1250000.00",
          "1000000.00",
          "2021-09-28",
          "invention_patent; software_copyright|",
          "XN-WH-2021",
          "00112233445566778899aabbccddeeff",
          "importer"};
}

// A spreadsheet row becomes the JSON form of the DESIGN.md example, which
// the JSON reader and the validator accept.
TEST(ContractCsvTest, RowMapsToContractRegistered) {
  StatusOr<std::string> json = ContractCsvRowToJson(kHeader, DesignRow());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  Json expected = {
      {"event", "ContractRegistered"},
      {"contract_id", "XN-2021-0001"},
      {"registration_no", "2021630100000001"},
      {"type", "development"},
      {"subtype", "commissioned"},
      {"title", "高原特色生物资源提取工艺"},
      {"field", "biomedicine"},
      {"seller", {{"name", "青海大学"}, {"entity", "university"}, {"region", "630100"}}},
      {"buyer", {{"name", "某生物科技有限公司"}, {"entity", "enterprise"}, {"region", "630100"}}},
      {"contract_amount", "1250000.00"},
      {"tech_amount", "1000000.00"},
      {"signed_on", "2021-09-28"},
      {"ip_types", {"invention_patent", "software_copyright"}},
      {"matchmaking_id", "XN-WH-2021"},
      {"request_id", "00112233445566778899aabbccddeeff"},
      {"actor", "importer"},
  };
  EXPECT_EQ(Json::parse(*json), expected);

  StatusOr<std::string> bytes = EntryFromJson(*json, JsonOptions());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  const fb::Entry* entry = VerifiedEntry(*bytes).value();
  EXPECT_TRUE(ValidateEntry(*entry).ok()) << ValidateEntry(*entry).ToString();
  EXPECT_EQ(entry->body_as_ContractRegistered()->contract_amount_fen(), 125000000);
}

// Empty cells are left out, so optional members disappear and required ones
// are reported missing by the JSON reader, with the field's name.
TEST(ContractCsvTest, EmptyCellsAreOmitted) {
  std::vector<std::string> row = DesignRow();
  row[3] = row[15] = row[16] = row[17] = row[18] = "";  // subtype, ip_types, ..., actor
  StatusOr<std::string> json = ContractCsvRowToJson(kHeader, row);
  ASSERT_TRUE(json.ok());
  Json object = Json::parse(*json);
  for (const char* member : {"subtype", "ip_types", "matchmaking_id", "request_id", "actor"}) {
    EXPECT_FALSE(object.contains(member)) << member;
  }

  row = DesignRow();
  row[4] = "";  // title
  EXPECT_EQ(
      EntryFromJson(ContractCsvRowToJson(kHeader, row).value(), JsonOptions()).status().message(),
      "title: missing");
  row = DesignRow();
  row[8] = "";  // seller_region
  EXPECT_EQ(
      EntryFromJson(ContractCsvRowToJson(kHeader, row).value(), JsonOptions()).status().message(),
      "seller.region: missing");
}

// Bad headers, mismatched rows and non-UTF-8 cells are refused naming the
// column.
TEST(ContractCsvTest, ErrorsNameTheColumn) {
  std::vector<std::string> header = kHeader;
  header[5] = "colour";
  EXPECT_EQ(ContractCsvRowToJson(header, DesignRow()).status().message(),
            "column 6 (\"colour\"): unknown");
  header = kHeader;
  header[5] = "seller_phone";
  EXPECT_EQ(CheckContractCsvHeader(header).message(), "column 6 (\"seller_phone\"): unknown");
  header = kHeader;
  header[5] = "title";
  EXPECT_EQ(CheckContractCsvHeader(header).message(), "column 6 (\"title\"): repeats column 5");
  header = kHeader;
  header.push_back("event");
  EXPECT_EQ(CheckContractCsvHeader(header).message(), "column 20 (\"event\"): unknown");
  EXPECT_TRUE(CheckContractCsvHeader(kHeader).ok());

  std::vector<std::string> row = DesignRow();
  row.pop_back();
  EXPECT_EQ(ContractCsvRowToJson(kHeader, row).status().message(),
            "row has 18 cells, the header has 19");
  row = DesignRow();
  row[6] = "\xC7\xE0\xBA\xA3\xB4\xF3\xD1\xA7";  // "青海大学" in GBK
  EXPECT_EQ(ContractCsvRowToJson(kHeader, row).status().message(),
            "column 7 (\"seller_name\"): not valid UTF-8 (save the file as \"CSV UTF-8\")");
}

// A whole export with a quoted title goes through reader, mapping and JSON
// reader, with the line of each row.
TEST(ContractCsvTest, EndToEnd) {
  std::string csv = "\xEF\xBB\xBF";
  for (size_t i = 0; i < kHeader.size(); ++i) csv += (i ? "," : "") + kHeader[i];
  csv += "\r\n";
  std::vector<std::string> row = DesignRow();
  row[4] = "Extraction, \"plateau\" edition";
  for (size_t i = 0; i < row.size(); ++i) {
    std::string cell = row[i];
    if (i == 4) cell = "\"Extraction, \"\"plateau\"\" edition\"";
    csv += (i ? "," : "") + cell;
  }
  csv += "\r\n";
  ReadResult result = ReadAll(csv);
  ASSERT_TRUE(result.error.ok()) << result.error.ToString();
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[0], kHeader);
  EXPECT_EQ(result.line_numbers[1], 2);
  StatusOr<std::string> json = ContractCsvRowToJson(result.rows[0], result.rows[1]);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  StatusOr<std::string> bytes = EntryFromJson(*json, JsonOptions());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(VerifiedEntry(*bytes).value()->body_as_ContractRegistered()->title()->str(),
            "Extraction, \"plateau\" edition");
}

}  // namespace
}  // namespace ledger
