#include "ledger/csv.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "ledger/validate.h"

namespace ledger {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr int kEndOfInput = std::char_traits<char>::eof();
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Columns copied as they are into members of the same name.
constexpr std::string_view kPlainColumns[] = {
    "contract_id",     "registration_no", "type",      "subtype",        "title",      "field",
    "contract_amount", "tech_amount",     "signed_on", "matchmaking_id", "request_id", "actor"};
// Columns "<party>_<member>" that go into the party objects.
constexpr std::string_view kParties[] = {"seller", "buyer"};
constexpr std::string_view kPartyMembers[] = {"name", "entity", "region"};
constexpr std::string_view kIpTypesColumn = "ip_types";
constexpr std::string_view kIpTypeSeparators = ";|";

bool Contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Splits "seller_region" into ("seller", "region"); false for other names.
bool SplitPartyColumn(std::string_view column, std::string_view* party, std::string_view* member) {
  size_t underscore = column.find('_');
  if (underscore == std::string_view::npos) return false;
  *party = column.substr(0, underscore);
  *member = column.substr(underscore + 1);
  return Contains(kParties, *party) && Contains(kPartyMembers, *member);
}

bool IsKnownColumn(std::string_view column) {
  std::string_view party, member;
  return Contains(kPlainColumns, column) || column == kIpTypesColumn ||
         SplitPartyColumn(column, &party, &member);
}

std::string ColumnName(size_t index, std::string_view name) {
  return "column " + std::to_string(index + 1) + " (\"" + std::string(name) + "\")";
}

std::string_view TrimSpaces(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// "invention_patent; software_copyright|" -> ["invention_patent",
// "software_copyright"]: spreadsheet users separate and pad freely.
OrderedJson SplitIpTypes(std::string_view cell) {
  OrderedJson names = OrderedJson::array();
  while (!cell.empty()) {
    size_t separator = cell.find_first_of(kIpTypeSeparators);
    std::string_view name = TrimSpaces(cell.substr(0, separator));
    if (!name.empty()) names.push_back(std::string(name));
    cell = separator == std::string_view::npos ? "" : cell.substr(separator + 1);
  }
  return names;
}

}  // namespace

CsvReader::CsvReader(std::istream* in) : input_(in->rdbuf()) {}

int CsvReader::Peek() {
  if (pending_index_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_index_]);
  return input_->sgetc();
}

int CsvReader::Get() {
  if (pending_index_ < pending_.size()) {
    return static_cast<unsigned char>(pending_[pending_index_++]);
  }
  return input_->sbumpc();
}

// A streambuf cannot put back three bytes, so a partial match is kept in
// pending_ and read again as data.
void CsvReader::SkipByteOrderMark() {
  for (char expected : kByteOrderMark) {
    if (input_->sgetc() != static_cast<unsigned char>(expected)) return;
    pending_.push_back(static_cast<char>(input_->sbumpc()));
  }
  pending_.clear();
}

Status CsvReader::Fail(int64_t line_number, std::string_view problem) {
  error_ =
      Status::InvalidArgument("line " + std::to_string(line_number) + ": " + std::string(problem));
  return error_;
}

Status CsvReader::Append(std::string* field, int c) {
  if (++record_bytes_ > kCsvRecordBytesMax) {
    return Fail(line_number_,
                "record longer than " + std::to_string(kCsvRecordBytesMax) + " bytes");
  }
  field->push_back(static_cast<char>(c));
  return Status::Ok();
}

void CsvReader::EndLine(int c) {
  if (c == '\r' && Peek() == '\n') Get();
  ++line_number_;
}

StatusOr<CsvReader::FieldEnd> CsvReader::ReadPlainField(std::string* field) {
  for (;;) {
    int c = Get();
    if (c == kEndOfInput) return FieldEnd::kInputEnd;
    if (c == ',') return FieldEnd::kComma;
    if (c == '\n' || c == '\r') {
      EndLine(c);
      return FieldEnd::kLineEnd;
    }
    if (c == '"') {
      return Fail(line_number_,
                  "quote inside an unquoted field (quote the whole field and double the quote)");
    }
    LEDGER_RETURN_IF_ERROR(Append(field, c));
  }
}

// REQUIRES: the opening quote is consumed.
StatusOr<CsvReader::FieldEnd> CsvReader::ReadQuotedField(std::string* field) {
  const int64_t start_line_number = line_number_;
  for (;;) {
    int c = Get();
    if (c == kEndOfInput) return Fail(start_line_number, "unterminated quoted field");
    if (c == '"' && Peek() == '"') {
      Get();
      LEDGER_RETURN_IF_ERROR(Append(field, '"'));
      continue;
    }
    if (c == '"') break;
    LEDGER_RETURN_IF_ERROR(Append(field, c));
    if (c == '\r' && Peek() == '\n') LEDGER_RETURN_IF_ERROR(Append(field, Get()));
    if (c == '\r' || c == '\n') ++line_number_;
  }
  int next = Get();
  if (next == kEndOfInput) return FieldEnd::kInputEnd;
  if (next == ',') return FieldEnd::kComma;
  if (next == '\n' || next == '\r') {
    EndLine(next);
    return FieldEnd::kLineEnd;
  }
  return Fail(line_number_, "unexpected character after a closing quote");
}

StatusOr<CsvReader::FieldEnd> CsvReader::ReadField(std::string* field) {
  if (Peek() != '"') return ReadPlainField(field);
  Get();
  return ReadQuotedField(field);
}

StatusOr<bool> CsvReader::Next(CsvRecord* record) {
  if (!error_.ok()) return error_;
  if (!started_) {
    SkipByteOrderMark();
    started_ = true;
  }
  int c;
  while ((c = Peek()) == '\n' || c == '\r') EndLine(Get());
  if (c == kEndOfInput) return false;

  record->fields.clear();
  record->line_number = line_number_;
  record_bytes_ = 0;
  FieldEnd end = FieldEnd::kComma;
  while (end == FieldEnd::kComma) {
    if (record->fields.size() == kCsvFieldsCountMax) {
      return Fail(line_number_, "more than " + std::to_string(kCsvFieldsCountMax) + " fields");
    }
    record->fields.emplace_back();
    LEDGER_ASSIGN_OR_RETURN(end, ReadField(&record->fields.back()));
  }
  if (header_fields_count_ == 0) header_fields_count_ = record->fields.size();
  if (record->fields.size() != header_fields_count_) {
    return Status::InvalidArgument("line " + std::to_string(record->line_number) + ": " +
                                   std::to_string(record->fields.size()) +
                                   " fields, the header has " +
                                   std::to_string(header_fields_count_));
  }
  return true;
}

Status CheckContractCsvHeader(const std::vector<std::string>& header) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (!IsKnownColumn(header[i]))
      return Status::InvalidArgument(ColumnName(i, header[i]) + ": unknown");
    for (size_t k = 0; k < i; ++k) {
      if (header[k] == header[i]) {
        return Status::InvalidArgument(ColumnName(i, header[i]) + ": repeats column " +
                                       std::to_string(k + 1));
      }
    }
  }
  return Status::Ok();
}

StatusOr<std::string> ContractCsvRowToJson(const std::vector<std::string>& header,
                                           const std::vector<std::string>& row) {
  LEDGER_RETURN_IF_ERROR(CheckContractCsvHeader(header));
  if (row.size() != header.size()) {
    return Status::InvalidArgument("row has " + std::to_string(row.size()) +
                                   " cells, the header has " + std::to_string(header.size()));
  }
  try {
    OrderedJson object = OrderedJson::object();
    object["event"] = "ContractRegistered";
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string& cell = row[i];
      if (cell.empty()) continue;
      // Exports from spreadsheets in China are often GBK; say so clearly.
      if (!IsValidUtf8(cell)) {
        return Status::InvalidArgument(ColumnName(i, header[i]) +
                                       ": not valid UTF-8 (save the file as \"CSV UTF-8\")");
      }
      std::string_view party, member;
      if (SplitPartyColumn(header[i], &party, &member)) {
        object[std::string(party)][std::string(member)] = cell;
      } else if (header[i] == kIpTypesColumn) {
        object[header[i]] = SplitIpTypes(cell);
      } else {
        object[header[i]] = cell;
      }
    }
    return object.dump();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("csv: ") + e.what());
  }
}

}  // namespace ledger
