// Package ledger is the data of fabu: the maintenance ledger (上线运维台帐)
// entries with their status lifecycle, the releases cut from them, and
// everything the train must remember (outbox, received mail, decisions,
// step state, IMAP cursors, the audit log), kept in one bbolt file that this
// package alone opens. Spreadsheet import and export live in ledger/sheet.
//
// It is not the mail or the clock: it renders nothing, sends nothing and
// decides nothing about when; callers in mailflow and schedule use the small
// Store API (View/Update closures over a Tx) and declare the few methods
// they need as interfaces of their own.
package ledger
