// Package imapwatch reads replies from one IMAP mailbox and hands each new
// mail, exactly once per Message-ID, to a Handler inside a ledger
// transaction.
//
// A Watcher connects (implicit TLS, STARTTLS, or plain IMAP to loopback
// only), logs in (LOGIN or XOAUTH2), selects the mailbox and reads every
// message after its cursor: the UIDVALIDITY and last UID kept in the
// ledger. It waits with IDLE when the server offers it (restarted every
// Options.IdleRestart, which doubles as a periodic re-check) and polls
// otherwise. After a lost connection it reconnects with capped, jittered
// backoff. Bodies are fetched with BODY.PEEK[], a chunk at a time, and a
// mail over Options.MaxSize is recorded as "too_large" without being
// downloaded. The Handler's work, the inbox record (ledger.Received) and
// the cursor advance commit in one bbolt transaction, so a crash never
// loses a mail and never handles one twice. A changed UIDVALIDITY, or the
// very first start, rescans a window of recent mail and skips every
// Message-ID already recorded. Afterwards mail is flagged ($FabuProcessed,
// or \Seen where keywords are not allowed) and, if configured, moved to a
// processed or an ignored folder.
//
// It is not the part that understands or decides: it does not parse MIME
// bodies, trim quotes, match replies to releases or check senders. The
// Handler does all of that (mailflow/reply and the train's steps); the
// watcher only delivers mail to it reliably and records the outcome it
// returns. It does not send mail either.
package imapwatch
