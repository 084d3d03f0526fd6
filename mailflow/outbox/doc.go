// Package outbox sends the train's mail exactly once: mails are stored in
// the bbolt outbox (ledger.Tx.Enqueue) in the same transaction as the
// state change that causes them, and the Worker delivers them over SMTP
// with go-mail, retrying temporary failures with capped, jittered backoff
// and alerting the admins about mail that keeps failing.
//
// It is not the wording (templates), nor the choice of who gets what
// (mailflow/train), nor reading replies (mailflow/intake).
//
// # Composing
//
// Compose turns a Message into RFC 5322 bytes (multipart/alternative text +
// HTML, attachments as multipart/mixed). Every mail carries:
//
//   - a stable Message-ID <fabu.HASH@domain-of-From>, HASH derived from
//     (train, release, step, discriminator, recipients) by MailID, so a
//     re-send is recognisable and a step run twice does not queue twice;
//   - Date, From, To/Cc, a Reply-To (plus-addressed with the reply token
//     when configured: fabu+TOKEN@domain), In-Reply-To/References that
//     thread the release's mails and carry the token as a msg-id;
//   - Auto-Submitted: auto-generated (RFC 3834) and X-Auto-Response-Suppress.
//     Mails that only inform say "All"; mails that ask a manager for a
//     decision say "DR, RN, NRN, AutoReply" so an Exchange out-of-office
//     (OOF) still comes back and the report can be relayed to the deputies.
//   - no Precedence header: "bulk" is not a standard (RFC 2076 advises
//     against it), some servers file such mail as low priority or spam, and
//     the report must reach a manager's inbox; Auto-Submitted already keeps
//     RFC 3834 responders quiet.
//   - X-Fabu-Train, X-Fabu-Release, X-Fabu-Step and User-Agent: fabu.
//
// Every header value is cleaned of control characters (CR, LF …) before
// go-mail encodes it, so ledger text cannot add a header.
//
// # Delivery and crashes
//
// The worker opens one SMTP connection per batch of due mails. For each
// mail it sends MAIL FROM and one RCPT TO per pending recipient itself
// (go-mail's Send would abort the whole message on one refused RCPT): a 5xx
// for one recipient is recorded for that recipient only, a 4xx leaves it
// pending, and DATA goes to the accepted ones. Just before DATA the mail is
// marked "sending" (with the recipients in flight) in its own transaction;
// after the server's answer the outcome is recorded. A mail found
// "sending" when the worker starts was interrupted by a crash in that
// window: it is sent again once to the recipients that were in flight,
// with the same Message-ID and X-Fabu-Possible-Duplicate: yes. A lost
// connection after DATA is treated the same way (the server may have the
// mail). Nothing is lost: a mail leaves the outbox only when every
// recipient was delivered or refused for good.
//
// # Cost
//
// The outbox keeps every mail it sent (for `fabu outbox list` and reply
// matching). The worker reads only the active ones (ledger's
// Tx.ActiveOutboxMails, an index kept in the same transaction as every
// change of a mail), and looks in a read transaction before it writes, so
// a send, and the idle worker's look each minute, costs the same with ten
// mails of history as with ten thousand.
package outbox
