// Package sheet reads and writes the team's ledger spreadsheet
// (上线运维台帐): .xlsx with excelize (StreamWriter to write; to read,
// excelize opens the workbook and a streaming reader of the worksheet XML
// gives exactly the rows excelize's row iterator would, ten times faster,
// handing over to that iterator where it cannot vouch for that), and .csv
// in UTF-8 (with or without BOM) or GB18030/GBK.
//
// Reading finds the header row under any caption rows, matches the seed's
// Chinese headers after removing all whitespace (so 测试计划  开始时间 and
// 测试计划开始时间 are the same column), accepts the English field names as
// aliases, fills merged cells with their top-left value, skips empty rows,
// and keeps unknown columns (including a column without a header that holds
// data) as the entry's Extras, reporting them. Every bad cell of a file is
// reported at once with its sheet, row (1-based, as Excel shows it), column,
// value and what was expected.
//
// Import upserts by 编号 in one store transaction: by default nothing is
// written when any row is bad; with SkipInvalid the good rows are written
// and the bad ones listed. Importing the same file twice changes nothing.
//
// Status on import: a sheet import is the team's word. Any status the sheet
// writes is accepted, even one the lifecycle would refuse as a move (an
// entry released in the store that the sheet shows as 处理中 becomes 处理中);
// every status an import changes is written to the audit log as old → new,
// marked when it is not a lifecycle move, and reported in the Result. The
// lifecycle is enforced where fabu itself moves entries (ledger set, the
// train). A team word other than the canonical one (待提测 for 开发完成, or a
// configured alias) is kept with the entry and written back on export.
//
// Text is kept exactly as written (leading and trailing spaces included),
// except that a CR LF line break becomes LF, as CSV readers do anyway. From
// .xlsx, cells are read raw, without number formats: date cells give their
// serial day number (the 1904 date system included), which the date columns
// read as dates; in a text column a number cell reads as the number it
// holds (a date-formatted cell as its serial, 50% as 0.5).
//
// Export writes the 24 columns in the seed's order with the Chinese headers
// (or the English field names), then 需求文档 and the extra columns; dates as
// real date cells in .xlsx and as YYYY-MM-DD in .csv. import → export →
// import gives back every field.
//
// It is not the ledger model or the store (package ledger) and it decides
// nothing about the train.
package sheet
