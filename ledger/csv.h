// CSV import: an RFC 4180 reader and the mapping of a spreadsheet export of
// contract registrations to the JSON form of ContractRegistered.
//
// CsvReader accepts what spreadsheets write: quoted fields with "" for a
// quote, commas and line breaks inside quotes, CRLF, LF or CR line ends, and a
// UTF-8 byte order mark at the start (skipped). Empty lines are skipped. The
// first record is the header; every later record must have as many fields.
// Errors are InvalidArgument and start with "line N: ", N counting physical
// lines from 1.
//
// Thread-safety: a CsvReader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace ledger {

// One record bounds the memory a malformed file (say, an unterminated quote
// near the start) can make the reader hold; real rows are under 4 KiB.
inline constexpr size_t kCsvRecordBytesMax = 1u << 20;
// A contract export has about 25 columns.
inline constexpr size_t kCsvFieldsCountMax = 256;

struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line_number = 0;  // 1-based line where the record starts
};

class CsvReader {
 public:
  // REQUIRES: *in outlives the reader, which reads it through its streambuf.
  explicit CsvReader(std::istream* in);

  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into *record: true when one was read, false at the
  // end of the input. A syntax error (unterminated quote, stray quote, a
  // record over the limits) is returned again by every later call; a record
  // with the wrong number of fields is consumed, so reading may go on.
  StatusOr<bool> Next(CsvRecord* record);

 private:
  enum class FieldEnd { kComma, kLineEnd, kInputEnd };

  // The next byte (0..255) or end of input, reading pending_ first.
  int Peek();
  int Get();
  void SkipByteOrderMark();
  StatusOr<FieldEnd> ReadField(std::string* field);
  StatusOr<FieldEnd> ReadQuotedField(std::string* field);
  StatusOr<FieldEnd> ReadPlainField(std::string* field);
  // Counts a line end `c` that was just read, consuming the LF of a CRLF.
  void EndLine(int c);
  Status Append(std::string* field, int c);
  // Records a sticky syntax error and returns it.
  Status Fail(int64_t line_number, std::string_view problem);

  std::streambuf* input_;
  std::string pending_;  // bytes read while looking for a byte order mark
  size_t pending_index_ = 0;
  int64_t line_number_ = 1;
  size_t record_bytes_ = 0;
  size_t header_fields_count_ = 0;  // 0 until the header is read
  bool started_ = false;            // the byte order mark check is done
  Status error_;                    // sticky syntax error
};

// Checks a contract export header: every column is a known name (see
// ContractCsvRowToJson) and none repeats. Errors name the column.
Status CheckContractCsvHeader(const std::vector<std::string>& header);

// Maps one row of a contract export to the JSON text of a ContractRegistered
// event, for EntryFromJson. Columns are named after the JSON form:
// contract_id, registration_no, type, subtype, title, field, contract_amount,
// tech_amount, signed_on, matchmaking_id, ip_types (names separated by ';' or
// '|'), request_id, actor, and seller_name, seller_entity, seller_region,
// buyer_name, buyer_entity, buyer_region for the parties. Empty cells are
// left out of the JSON, so a missing required value is reported by
// EntryFromJson ("title: missing"). Cells are taken verbatim (no trimming).
StatusOr<std::string> ContractCsvRowToJson(const std::vector<std::string>& header,
                                           const std::vector<std::string>& row);

}  // namespace ledger
