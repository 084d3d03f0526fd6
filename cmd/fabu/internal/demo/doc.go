// Package demo is `fabu demo`: one whole week of the release train, run by
// fabu's real daemon on an embedded default — an SMTP server (go-smtp) and
// an IMAP server (go-imap's imapmemserver) on loopback, a temporary store
// filled from a bundled sample ledger through the real spreadsheet import,
// scripted people who read their mail and reply like the seed's team
// (testers, a manager who first answers unclearly and then approves from a
// Chinese Outlook, ops), and a fast clock that runs the week in seconds.
//
// It prints a timeline as the week goes and writes every mail as .eml, a
// readable copy of each, and an index.html with the timeline and the
// release's entry × environment matrix.
//
// The daemon itself is cmd/fabu's (this package gets it through
// Options.NewDaemon): nothing is faked around fabu — its scheduler, outbox,
// SMTP client, IMAP IDLE watcher, reply understanding and decisions all
// run as in production. It is not a test harness (the mail servers here
// are small, in memory and loopback only) and not a place for train logic.
package demo
